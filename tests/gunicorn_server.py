"""The app served by the shipped gunicorn config (deploy/gunicorn.conf.py) with real worker processes, on
the test database and Redis, for tests about what several workers share (throttles, metrics)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def http_get(url: str, token: str = "") -> tuple[int, str]:
    """Status and body of a GET on its own connection (with a bearer token when given)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - our loopback server (the bound of a loaded machine)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return http_get(url)[0] == 200
    except urllib.error.URLError:  # not listening yet
        return False


@contextmanager
def gunicorn_serving(tmp_path: Path, env: dict[str, str], access_format: str) -> Iterator[tuple[str, Path]]:
    """Start gunicorn with `env` added (GUNICORN_WORKERS among them), wait until it answers, yield its base
    URL and its access log (written with `access_format`), stop it on exit."""
    db = connection.settings_dict
    port, log = _free_port(), tmp_path / "access.log"
    full = {**os.environ, "REDIS_URL": settings.REDIS_URL, "GUNICORN_BIND": f"127.0.0.1:{port}",
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            **env}
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi",  # the shipped config
         "--access-logfile", str(log), "--access-logformat", access_format],
        cwd=ROOT, env=full, stdout=(tmp_path / "server.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60  # an upper bound on waiting for start-up, not a timing assertion
        while not _answers(f"{base}/healthz"):
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        yield base, log
    finally:
        server.terminate()
        server.wait(timeout=30)
