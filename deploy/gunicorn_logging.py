"""gunicorn's logger for Switchboard (deploy/gunicorn.conf.py's logger_class): its access log without the
secrets some paths carry. A webhook endpoint's token and a signed label-file link are in the request line
(`%(r)s`), the path and the raw URI; whoever reads the log could post deliveries as the store, or fetch the
label, with them."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from core.log_context import secret_paths_redacted

# The atoms that hold the request's path, or a URL of ours (the referer of a page opened from a label link).
_PATH_ATOMS = ("r", "U", "f", "{raw_uri}e", "{path_info}e", "{referer}i")


class RedactingLogger(Logger):
    """gunicorn's Logger, with the secret segment of those paths replaced (`/webhooks/<channel>/[redacted]/`) in
    every atom that holds one, whatever access_log_format names."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in _PATH_ATOMS:
            value = atoms.get(key)
            if isinstance(value, str):
                atoms[key] = secret_paths_redacted(value)
        return atoms
