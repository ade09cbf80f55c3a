"""What every benchmark shares: a dedicated PostgreSQL database, migrated, with Django set up."""

from __future__ import annotations

import os


def setup_django(url: str, redis_url: str | None = None) -> None:
    """Create the database named by `url` if it is missing, set Django up on it and migrate.

    Without `redis_url`, Celery runs tasks in the calling process (CELERY_TASK_ALWAYS_EAGER, unless the
    environment says otherwise): what a service schedules is then timed as part of it. With `redis_url`,
    as in production: the cache and the broker are that Redis and a task is published there, not run
    (no worker reads it; the benchmark empties its queues).
    """
    os.environ["DATABASE_URL"] = url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
        os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    # As production runs: with DEBUG on, Django keeps the text of the last 9,000 statements (connection.queries),
    # rendering every statement with its values (a page's bulk INSERT is half a megabyte): memory climbs and
    # every statement pays for its text. Counting benches use CaptureQueriesContext, which logs regardless.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SWITCHBOARD_TESTING", "1")  # locmem email: mails sent by services are not printed
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def purge_queues(redis_url: str) -> int:
    """Empty the Redis database's queues (lists) and the stock push's debounce keys; returns the messages dropped."""
    import redis

    r = redis.Redis.from_url(redis_url)
    dropped = 0
    for k in list(r.scan_iter(count=1000)):
        if r.type(k) == b"list":
            dropped += r.llen(k)
            r.delete(k)
        elif b"stock_push" in k:
            r.delete(k)
    return dropped
