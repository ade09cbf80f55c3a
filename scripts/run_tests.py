"""`make test`: find PostgreSQL and Redis, then run pytest against them.

DATABASE_URL / REDIS_URL win when set; otherwise the default local ports are tried. Without
them the suite falls back to SQLite and skips only the tests that need the missing service
(tests/conftest.py prints how many and why). With REQUIRE_SERVICES=1 (CI) a missing service
is an error instead.

The suite runs in parallel (pytest-xdist): each worker gets its own test database (pytest-django's
`test_<name>_gw<n>`) and its own Redis database (REDIS_URL's number plus the worker's index, see
tests/conftest.py). TEST_WORKERS sets how many (default: one per CPU, 2 to 8); TEST_WORKERS=0, or an
explicit `-n`/`-p no:xdist` among the arguments, runs as asked.
"""

from __future__ import annotations

import os
import socket
import sys


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.5):
            return True
    except OSError:
        return False


def _workers(argv: list[str]) -> list[str]:
    """`-n N` unless the arguments already choose: on this project's 2-core machines two workers halve the
    wall time (the tests wait on PostgreSQL as much as they compute)."""
    chosen = any(a in ("-n", "--numprocesses", "no:xdist") or a.startswith(("-n", "--numprocesses="))
                 for a in argv)
    if chosen:
        return []
    return ["-n", os.environ.get("TEST_WORKERS") or str(min(8, max(2, os.cpu_count() or 1)))]


def main() -> int:
    env = os.environ
    required = env.get("REQUIRE_SERVICES") == "1"
    if not env.get("DATABASE_URL") and _answers("127.0.0.1", 5432):
        env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/switchboard"
    if not env.get("REDIS_URL") and _answers("127.0.0.1", 6379):
        env["REDIS_URL"] = "redis://127.0.0.1:6379/8"  # 8.. 15: room for 8 workers' databases
    # Tasks run in-process unless a test starts a real worker itself.
    env.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    env["SWITCHBOARD_TESTING"] = "1"
    pg = (env.get("DATABASE_URL") or "").startswith(("postgres", "pgsql"))
    print(f"make test: database={'PostgreSQL' if pg else 'SQLite (fallback)'}, "
          f"redis={'yes' if env.get('REDIS_URL') else 'no'}, services required={required}", flush=True)
    if required and not (pg and env.get("REDIS_URL")):
        print("make test: REQUIRE_SERVICES=1 but PostgreSQL or Redis is not reachable", file=sys.stderr)
        return 2
    args = [sys.executable, "-m", "pytest", *_workers(sys.argv[1:]), *sys.argv[1:]]
    os.execv(sys.executable, args)  # noqa: S606 - replace this process with pytest
    return 0


if __name__ == "__main__":
    sys.exit(main())
