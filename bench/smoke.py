"""`make bench-smoke` (CI runs it after the suite): every benchmark in bench/ at its `--smoke` size, a few
seconds each, so a benchmark broken by a change (a NOT NULL column its bare-SQL baseline does not fill, a
renamed service) fails CI instead of waiting for the next person who measures.

    .venv/bin/python bench/smoke.py

The benchmarks share one fresh database on the server of DATABASE_URL (`<its name>_bench_smoke`, dropped and
created first) and the webhook benchmark and the soak a Redis database of their own (BENCH_REDIS_URL, default database 7 of
REDIS_URL's server: it empties that database's queues). Exits non-zero naming the benchmarks that failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ("orders_bench.py", "inventory_bench.py", "integrations_bench.py", "webhooks_bench.py",
              "amazon_bench.py", "woocommerce_bench.py", "labels_bench.py", "statements_bench.py", "soak.py",
              "shopify_backfill_bench.py", "ingest_bench.py")


def smoke_urls(environ: dict[str, str]) -> tuple[str, str]:
    """The smoke run's database URL and Redis URL, beside (never on) the ones the suite uses."""
    database = urlsplit(environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/switchboard")
    name = database.path.strip("/") or "switchboard"
    database_url = urlunsplit(database._replace(path=f"/{name}_bench_smoke"))
    redis_url = environ.get("BENCH_REDIS_URL")
    if not redis_url:
        redis = urlsplit(environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
        redis_url = urlunsplit(redis._replace(path="/7"))
    return database_url, redis_url


def recreate(database_url: str) -> None:
    import psycopg

    base, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    database_url, redis_url = smoke_urls(dict(os.environ))
    recreate(database_url)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_TASK_ALWAYS_EAGER")}
    env["REDIS_URL"] = redis_url
    failed: list[str] = []
    for script in BENCHMARKS:
        started = time.monotonic()
        print(f"bench-smoke: {script} ...", flush=True)
        result = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--smoke", "--database-url",
                                 database_url], cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if result.returncode:
            failed.append(script)
            print(f"bench-smoke: {script} FAILED (exit {result.returncode}, {seconds:.0f}s)\n"
                  f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}", flush=True)
        else:
            print(f"bench-smoke: {script} ok ({seconds:.0f}s)", flush=True)
    if failed:
        print(f"bench-smoke: {len(failed)} of {len(BENCHMARKS)} failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
