"""Webhook receipt in one process: Django's WSGI handler called as gunicorn calls it, the signed webhook beside
the one-INSERT view (bench/webhooks_urls.py), same settings and middleware; the CPU per request of this process and
of its PostgreSQL backend, and of the dispatcher's read and hand-over of the new rows. No HTTP, no scheduler
noise between the two paths beyond the machine's: the before/after figure for changes to receipt.

    .venv/bin/python bench/webhooks_inprocess.py --database-url postgres://.../sw_x_inproc \
        --redis-url redis://127.0.0.1:6379/5 [--requests 1000] [--passes 5] [--profile webhook|insert]

Each pass runs `--requests` requests of each path (alternating, the order flipping each pass), then hands the
pass's new webhook rows over as the dispatcher does (`webhooks.dispatcher.NewRows` on a connection of its own,
`webhook_events_hand_over` to the broker; nothing reads it, the queues are emptied at the end). Printed per pass
and as medians: ms of CPU per request for this process ("web") and its backend ("db"), and the dispatcher's
per delivery ("disp" and "disp db"). `--profile`: cProfile of that path's requests instead (top functions).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import purge_queues, setup_django  # noqa: E402


def _ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _backend_seconds(pid: int) -> float:
    return _ticks(pid) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--profile", choices=("webhook", "insert"))
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--dump", help="--profile: also write the stats to this file (pstats)")
    args = parser.parse_args()

    os.environ.update(DJANGO_SETTINGS_MODULE="bench.webhooks_settings", WEBHOOK_DISPATCH="dispatcher",
                      WEBHOOK_DISPATCH_LEASE_SECONDS="3600", DEBUG="0")
    os.environ.pop("SWITCHBOARD_TESTING", None)
    setup_django(args.database_url, args.redis_url)

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    from bench.webhooks_bench import base_headers, new_integration, order_body
    from bench.webhooks_urls import FLOOR_TABLE
    from webhooks.dispatcher import NewRows, WebhookDispatcher
    from webhooks.services import webhook_events_hand_over

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        cursor.execute(f"CREATE TABLE {FLOOR_TABLE} (id bigserial PRIMARY KEY, body bytea NOT NULL)")
        cursor.execute("TRUNCATE webhooks_webhookevent")
    purge_queues(args.redis_url)
    _merchant, integration = new_integration()
    body = order_body()
    headers = base_headers(body)
    paths = {"webhook": integration.hook_path, "insert": "/bench/insert/"}
    app = WSGIHandler()
    prefix = uuid.uuid4().hex
    base_environ = {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "wsgi.errors": sys.stderr, "CONTENT_TYPE": headers["Content-Type"], "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000", "HTTP_CONNECTION": "close", "HTTP_USER_AGENT": "wrk",
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"},
    }
    counter = [0]
    statuses: dict[str, int] = {}

    def start_response(status, response_headers, exc_info=None):
        statuses[status] = statuses.get(status, 0) + 1

    def one(path: str) -> None:
        counter[0] += 1
        event = f"{prefix}-{counter[0]}"
        environ = dict(base_environ, PATH_INFO=path, HTTP_X_SHOPIFY_EVENT_ID=event, HTTP_X_SHOPIFY_WEBHOOK_ID=event)
        environ["wsgi.input"] = io.BytesIO(body)
        response = app(environ, start_response)
        b"".join(response)
        response.close()

    def backend_pid() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    connection.close()  # the migrations' connection may be older than CONN_MAX_AGE: requests open their own
    for path in paths.values():  # warm up
        for _ in range(50):
            one(path)
    statuses.clear()

    dispatcher = WebhookDispatcher()
    leader = dispatcher._lead()
    rows = NewRows(leader.connection, batch=500, gap_seconds=10)
    rows.start()

    def dispatch() -> tuple[float, float, int]:
        pid = leader.connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        cpu0, db0 = time.process_time(), _backend_seconds(pid)
        handed = 0
        while True:
            events, more = rows.read()
            if events:
                webhook_events_hand_over(events)
                handed += len(events)
            if not more:
                break
        return time.process_time() - cpu0, _backend_seconds(pid) - db0, handed

    dispatch()

    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not waits on the database
        path = paths[args.profile]
        profiler.enable()
        for _ in range(args.requests):
            one(path)
        profiler.disable()
        out = io.StringIO()
        if args.dump:
            profiler.dump_stats(args.dump)
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
        print(statuses)
        purge_queues(args.redis_url)
        return

    results: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
    disp: list[tuple[float, float]] = []
    print(f"load average {os.getloadavg()[0]:.2f} at start; {args.requests} requests per path per pass")
    for p in range(args.passes):
        order = list(paths) if p % 2 == 0 else list(reversed(paths))
        line = []
        for name in order:
            # A new connection for each pass, as CONN_MAX_AGE (60 s) gives a server's workers: its statements are
            # prepared against the table as it is now. With autovacuum off (this machine) nothing else makes
            # PostgreSQL plan them again, and a plan made when the TRUNCATEd table was empty reads the whole table
            # in the webhook INSERT's duplicate check (NOT EXISTS) for the rest of the connection's life.
            connection.close()
            pid = backend_pid()
            cpu0, db0 = time.process_time(), _backend_seconds(pid)
            for _ in range(args.requests):
                one(paths[name])
            cpu, db = time.process_time() - cpu0, _backend_seconds(pid) - db0
            if backend_pid() != pid:
                print("  (backend changed during the pass)")
            results[name].append((cpu * 1000 / args.requests, db * 1000 / args.requests))
            line.append(f"{name} web {results[name][-1][0]:.3f} db {results[name][-1][1]:.3f}")
        dcpu, ddb, handed = dispatch()
        disp.append((dcpu * 1000 / max(1, handed), ddb * 1000 / max(1, handed)))
        line.append(f"disp {disp[-1][0]:.3f} disp db {disp[-1][1]:.3f} ({handed})")
        print(f"  pass {p + 1}: " + "; ".join(line), flush=True)
    med = {name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
           for name, rs in results.items()}
    dmed = (statistics.median(d[0] for d in disp), statistics.median(d[1] for d in disp))
    w, i = med["webhook"], med["insert"]
    total_w, total_i = w[0] + w[1] + dmed[0] + dmed[1], i[0] + i[1]
    print(f"medians (ms per request): webhook web {w[0]:.3f} db {w[1]:.3f} dispatcher {dmed[0]:.3f} its db "
          f"{dmed[1]:.3f} = {total_w:.3f}; insert web {i[0]:.3f} db {i[1]:.3f} = {total_i:.3f}; "
          f"webhook / insert x{total_w / total_i:.2f} (without the dispatcher x{(w[0] + w[1]) / total_i:.2f})")
    print(f"statuses {statuses}; load average {os.getloadavg()[0]:.2f} at the end")
    purge_queues(args.redis_url)
    leader.close()


if __name__ == "__main__":
    main()
