"""gunicorn's logger for Switchboard (deploy/gunicorn.conf.py's logger_class): its access and error logs without
the secrets some paths carry. A webhook endpoint's token, a signed label-file link, an invitation's key, allauth's
e-mail confirmation and password-reset keys are in the request line (`%(r)s`), the path and the raw URI, and in
the error log's "Error handling request <uri>"; whoever reads the log could post deliveries as the store, fetch the
label, join the team or reset the password with them. Which paths hold one is read from the URLconf
(core.log_context.text_redacted)."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.glogging import Logger

from core.log_context import text_redacted

# The atoms that hold the request's path, or a URL of ours (the referer of a page opened from a label link).
_PATH_ATOMS = ("r", "U", "f", "{raw_uri}e", "{path_info}e", "{referer}i")


class SecretPathsFilter(logging.Filter):
    """On gunicorn's error logger: a record's message (its arguments merged in: gunicorn passes the request's URI
    as one) and its traceback with the secret paths redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = text_redacted(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = text_redacted(logging.Formatter().formatException(record.exc_info))
        return True


class RedactingLogger(Logger):
    """gunicorn's Logger, with the secret segments of those paths replaced (`/webhooks/<channel>/[redacted]/`) in
    every access-log atom that holds one, whatever access_log_format names, and in every error-log line."""

    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        # gunicorn.error is one process-wide logger: one filter on it, however many Loggers are made
        if not any(isinstance(f, SecretPathsFilter) for f in self.error_log.filters):
            self.error_log.addFilter(SecretPathsFilter())

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in _PATH_ATOMS:
            value = atoms.get(key)
            if isinstance(value, str):
                atoms[key] = text_redacted(value)
        return atoms
