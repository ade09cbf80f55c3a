"""`make test`: find PostgreSQL and Redis, then run pytest against them.

DATABASE_URL / REDIS_URL win when set; otherwise the default local ports are tried. Without
them the suite falls back to SQLite and skips only the tests that need the missing service
(tests/conftest.py prints how many and why). With REQUIRE_SERVICES=1 (CI) a missing service
is an error instead.
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


def main() -> int:
    env = os.environ
    required = env.get("REQUIRE_SERVICES") == "1"
    if not env.get("DATABASE_URL") and _answers("127.0.0.1", 5432):
        env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/switchboard"
    if not env.get("REDIS_URL") and _answers("127.0.0.1", 6379):
        env["REDIS_URL"] = "redis://127.0.0.1:6379/15"
    # Tasks run in-process unless a test starts a real worker itself.
    env.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    env["SWITCHBOARD_TESTING"] = "1"
    pg = (env.get("DATABASE_URL") or "").startswith(("postgres", "pgsql"))
    print(f"make test: database={'PostgreSQL' if pg else 'SQLite (fallback)'}, "
          f"redis={'yes' if env.get('REDIS_URL') else 'no'}, services required={required}", flush=True)
    if required and not (pg and env.get("REDIS_URL")):
        print("make test: REQUIRE_SERVICES=1 but PostgreSQL or Redis is not reachable", file=sys.stderr)
        return 2
    args = [sys.executable, "-m", "pytest", *sys.argv[1:]]
    os.execv(sys.executable, args)  # noqa: S606 - replace this process with pytest
    return 0


if __name__ == "__main__":
    sys.exit(main())
