"""A real Celery worker *process* for the tests that need one (Redis broker, the test's PostgreSQL database):
`worker_start(log, env)` starts it with our interpreter and waits until it is ready; `wait_until` polls a
condition with an upper bound on a broken run (never a timing assertion)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
WAIT = 90.0
KOMBU_KEYS = ("celery", "unacked", "unacked_index", "unacked_mutex")  # the broker's own keys, cleared around a run


def worker_start(log: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen:
    db = connection.settings_dict
    full = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0", "REDIS_URL": settings.REDIS_URL,
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            **(env or {})}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-mingle", "--without-gossip", "--without-heartbeat"],
        cwd=ROOT, env=full, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    wait_until(lambda: "ready" in log.read_text(errors="replace") or process.poll() is not None, "worker start")
    assert process.poll() is None, log.read_text(errors="replace")[-3000:]
    return process


def worker_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=WAIT)


def wait_until(condition: Callable[[], object], what: str, log: Path | None = None, *, bound: float = WAIT) -> None:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-4000:] if log is not None else ""
    raise AssertionError(f"gave up waiting for {what}\n{tail}")
