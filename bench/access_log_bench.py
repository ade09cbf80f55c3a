"""gunicorn's access line with its secret paths redacted (deploy/gunicorn_logging.RedactingLogger): CPU per line of
gunicorn's own atoms(), and what redacting its six path atoms adds, by the URLconf's secret routes
(core.log_context.text_redacted) against the hand-listed regex it replaced (webhooks and label links
only), in the same run. Cases: a webhook delivery to one endpoint (its path cached after the first line), a
dashboard page, and a webhook delivery with a new token on every line (no cache hit).

    PYTHONPATH=. DATABASE_URL=... .venv/bin/python bench/access_log_bench.py [--lines 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
from datetime import timedelta
from types import SimpleNamespace

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from gunicorn.config import Config  # noqa: E402
from gunicorn.glogging import Logger  # noqa: E402

from core.log_context import text_redacted  # noqa: E402

_HAND_LISTED = re.compile(r"(/(?:webhooks/[^/\s?#\"']+|shipments/files)/)[^/\s?#\"']+")  # before 2026-12-08
ATOMS = ("r", "U", "f", "{raw_uri}e", "{path_info}e", "{referer}i")


def hand_listed(text: str) -> str:
    return _HAND_LISTED.sub(r"\1[redacted]", text) if "/" in text else text


def environ(path: str, query: str) -> dict:
    return {"REQUEST_METHOD": "POST", "RAW_URI": f"{path}?{query}", "PATH_INFO": path, "QUERY_STRING": query,
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7",
            "HTTP_REFERER": "https://switchboard.example/orders/"}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def per_line(logger: Logger, redact, environs: list[dict]) -> float:
    response = SimpleNamespace(status="200 OK", sent=10, headers=[("X-Request-ID", "rid")])
    request = SimpleNamespace(headers=[("REFERER", "https://switchboard.example/orders/")])
    started = cpu()
    for env in environs:
        atoms = logger.atoms(response, request, env, timedelta(milliseconds=3))
        for key in ATOMS:
            value = atoms.get(key)
            if isinstance(value, str):
                atoms[key] = redact(value)
    return (cpu() - started) / len(environs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logger = Logger(Config())
    n = args.lines
    cases = {
        "webhook, one endpoint": [environ("/webhooks/shopify/Wh-Secret-Token-7f3a9c21/", "topic=orders")] * n,
        "dashboard page": [environ("/orders/", "page=2")] * n,
        "webhook, a new token each line": [environ(f"/webhooks/shopify/Wh-Token-{i:08d}/", "topic=orders")
                                           for i in range(n)],
    }
    for round_ in range(args.rounds):
        for name, environs in cases.items():
            alone = per_line(logger, lambda text: text, environs)
            before = per_line(logger, hand_listed, environs) - alone
            after = per_line(logger, text_redacted, environs) - alone
            print(f"round {round_} {name}: atoms() {alone:.1f} us; redaction +{before:.1f} us hand-listed, "
                  f"+{after:.1f} us from the URLconf (x{after / before:.2f})")
    print("load average", open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    main()
