"""Webhook inbox benchmark: signed Shopify order webhooks accepted per second under gunicorn, beside a bare
Django view answering 200 under the same gunicorn, in the same run.

    .venv/bin/python bench/webhooks_bench.py [--quick | --smoke] [--database-url postgres://.../switchboard_webhooks_bench]
        [--redis-url redis://127.0.0.1:6379/2] [--workers 4] [--connections 16] [--seconds 10] [--rounds 3]

Needs `wrk` (Debian: `apt-get install -y wrk`) and a Redis the dispatcher hands events to (REDIS_URL; no worker
reads it, so every accepted delivery stays queued: the script empties that database's queues at the end, so
give it a Redis database of its own). The endpoint runs as production does (WEBHOOK_DISPATCH=dispatcher): the
request INSERTs the row and publishes nothing; `manage.py webhook_dispatcher`
runs beside gunicorn for the whole run, reading the new rows by id and handing events to the broker, and its CPU (and its
PostgreSQL backend's) is counted in the webhook's CPU per request (each round prints the CPU by process: web
workers, their backends, the dispatcher, its backends). `--smoke` (CI, `make bench-smoke`) drives the same server for about a
second per path with a Python closed loop instead of wrk, so CI needs nothing beyond the project's own
dependencies; its figures prove the path works, not how fast it is.

One gunicorn (sync workers, `bench.webhooks_settings`: the project's settings and URLs plus two baselines, DEBUG
off) serves every path with the same middleware stack and the same signed order body (a recorded Shopify order,
../shared/realworld/shopify/): /bench/bare/ answers 200 and does nothing; /bench/insert/ writes the body with one
INSERT in autocommit and answers, the floor of "durable before acknowledged" on this database. Every request carries its own X-Shopify-Event-Id (the
HMAC covers the body only), so each one is a new delivery: verify, insert the WebhookEvent, answer 200;
the dispatcher reads it and publishes its processing task.

1. Max rate: wrk, closed loop, `--connections` connections, rounds of `--seconds` s, the three paths
   interleaved (the order rotates each round); medians of the rounds, and the webhook's share of each baseline.
2. Latency at half load: an open-loop client (asyncio, one connection per request as gunicorn's sync workers
   close them) sends at a fixed rate of half the webhook's median max rate for `--seconds` × 2 s; each latency
   is measured from the request's scheduled time (no coordinated omission), p50/p99 of time to the full
   answer. The bare view is measured the same way at the same rate.
   Before the rounds, both tables written are ANALYZEd, as autovacuum would (`analyze_tables`).
3. CPU per request: the CPU time the gunicorn workers and their PostgreSQL backends used during each max-rate
   round, divided by its requests (from /proc; Redis and wrk are not counted). On a shared machine this is the
   steadier figure: it does not depend on how much of the CPU the other tenants of the machine left us.
4. Check: every 200 from the endpoint is one stored row, and every row was handed out exactly once (the queued
   tasks' event ids, decoded from the broker's messages). Goals (issue 19): at least 75% of the one-INSERT
   view's rate, p99 under 50 ms at half the webhook's max.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/switchboard_webhooks_bench"
# The recorded payloads the tests' Shopify fake reads too (tests/fakes/shopify/schema.py).
REALWORLD_DIR = Path(os.environ.get("SHOPIFY_REALWORLD_DIR", "/work/shared/realworld/shopify"))
PAYLOAD = REALWORLD_DIR / "rest_order_recorded_eur_test_store.json"
SECRET = "bench-client-secret-" + "x" * 24
SHOP = "bench-store.myshopify.com"


def machine() -> str:
    import platform

    from django.db import connection

    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    return (f"{os.cpu_count()} CPUs (nproc), {mem_gb:.0f} GB RAM, PostgreSQL {pg}, Python {platform.python_version()}, "
            f"load average {os.getloadavg()[0]:.1f} at start")


def order_body() -> bytes:
    """The webhook body Shopify sends for orders/create: the order's REST representation, unwrapped."""
    order = json.loads(PAYLOAD.read_text())["order"]
    return json.dumps(order, separators=(",", ":")).encode()


def signature(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def new_integration():
    from accounts.models import User
    from accounts.services import merchant_create
    from accounts.tenancy import tenant_scope
    from core.receivers import webhook_path
    from integrations.models import Integration

    user = User.objects.create_user(f"webhooks-bench-{time.time_ns()}@bench.example", "x" * 16)
    merchant = merchant_create(name="Webhooks bench", owner=user)
    with tenant_scope(merchant):
        integration = Integration.objects.create(
            merchant=merchant, channel="shopify", name=SHOP,
            credentials={"shop_domain": SHOP, "access_token": "shpat_bench", "client_secret": SECRET},
            account_ref=SHOP)
        integration.hook_path = webhook_path(kind="channel", owner=integration)
    return merchant, integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_TASK_ALWAYS_EAGER", "SWITCHBOARD_TESTING")}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, CELERY_TASK_ALWAYS_EAGER="0", DEBUG="0",
               WEBHOOK_DISPATCH="dispatcher",
               DJANGO_SETTINGS_MODULE="bench.webhooks_settings", LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
               PYTHONPATH=str(ROOT))
    return env


def start_gunicorn(*, port: int, workers: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--worker-class", "sync", "--backlog", "2048", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.time() + 240  # a loaded machine imports slowly
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {log}")
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"gunicorn did not answer /healthz in 240 s; see {log}")


def start_dispatcher(*, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`manage.py webhook_dispatcher` on the bench's database and broker, started before any delivery."""
    proc = subprocess.Popen([sys.executable, "manage.py", "webhook_dispatcher", "--poll-seconds", "1"], cwd=ROOT,
                            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while time.time() < deadline:
        if "webhook dispatcher:" in log.read_text(errors="replace"):
            return proc
        if proc.poll() is not None:
            raise SystemExit(f"the dispatcher exited; see {log}")
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"the dispatcher did not start in 240 s; see {log}")


def base_headers(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
            "X-Shopify-Hmac-Sha256": signature(body), "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-API-Version": "2026-04", "X-Shopify-Triggered-At": "2026-12-04T12:00:00Z"}


WRK_SCRIPT = r"""
wrk.method = "POST"
wrk.body = io.open(%(body_path)s, "rb"):read("*a")
%(headers)s
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
local n = 0
function request()
  n = n + 1
  local id = %(prefix)s .. "-" .. tid .. "-" .. n
  wrk.headers["X-Shopify-Event-Id"] = id
  wrk.headers["X-Shopify-Webhook-Id"] = id
  return wrk.format(nil, %(path)s)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT {\"requests\": %%d, \"duration_us\": %%d, \"status\": %%d, \"connect\": %%d, " ..
    "\"read\": %%d, \"write\": %%d, \"timeout\": %%d, \"p50_us\": %%d, \"p99_us\": %%d}\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_round(*, port: int, path: str, body_path: Path, headers: dict[str, str], seconds: float,
              connections: int) -> dict:
    """One closed-loop wrk run; requests/s counts only 2xx answers (a non-2xx fails the run)."""
    lua_headers = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    script = WRK_SCRIPT % {"body_path": json.dumps(str(body_path)), "headers": lua_headers,
                           "prefix": json.dumps(uuid.uuid4().hex), "path": json.dumps(path)}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", f.name,
                              f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    match = re.search(r"^RESULT (.*)$", out, re.M)
    if not match:
        raise SystemExit(f"wrk gave no result:\n{out}")
    r = json.loads(match.group(1))
    errors = r["status"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
    ok = r["requests"] - r["status"]
    return {"rps": ok / (r["duration_us"] / 1e6), "requests": r["requests"], "ok": ok, "errors": errors,
            "detail": r}


def python_round(*, port: int, path: str, body_path: Path, headers: dict[str, str], seconds: float,
                 connections: int) -> dict:
    """wrk_round's closed loop in Python (`--smoke`): `connections` threads, each sending its next request
    when the last is answered, for `seconds` s. Slower than wrk as a client, so its rate is no measurement."""
    import http.client
    import threading

    body = body_path.read_bytes()
    prefix = uuid.uuid4().hex
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    counts = {"requests": 0, "status": 0, "connect": 0}
    lock = threading.Lock()

    def client(tid: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            event = {"X-Shopify-Event-Id": f"{prefix}-{tid}-{n}", "X-Shopify-Webhook-Id": f"{prefix}-{tid}-{n}"}
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", path, body=body, headers={**headers, **event})
                status = conn.getresponse().status
                conn.close()
            except OSError:
                status = 0
            with lock:
                counts["requests"] += 1
                latencies.append(time.perf_counter() - started)
                if status == 0:
                    counts["connect"] += 1
                elif not 200 <= status < 300:
                    counts["status"] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(t,)) for t in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    duration = time.perf_counter() - started
    latencies.sort()
    pct = lambda q: int(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e6) if latencies else 0  # noqa: E731
    detail = {"requests": counts["requests"], "duration_us": int(duration * 1e6), "status": counts["status"],
              "connect": counts["connect"], "read": 0, "write": 0, "timeout": 0, "p50_us": pct(0.5),
              "p99_us": pct(0.99)}
    ok = counts["requests"] - counts["status"] - counts["connect"]
    return {"rps": ok / duration, "requests": counts["requests"], "ok": ok,
            "errors": counts["status"] + counts["connect"], "detail": detail}


async def _one(port: int, raw: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return int(data[9:12]) if data[:5] == b"HTTP/" else 0


async def _open_loop(port: int, requests: list[bytes], rate: float) -> tuple[list[float], dict[int, int]]:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = loop.time() + 0.2

    async def fire(i: int, raw: bytes) -> None:
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            code = await _one(port, raw)
        except OSError:
            code = 0
        latencies.append(loop.time() - due)
        statuses[code] = statuses.get(code, 0) + 1

    await asyncio.gather(*(fire(i, raw) for i, raw in enumerate(requests)))
    return latencies, statuses


def open_loop(*, port: int, path: str, body: bytes, headers: dict[str, str], rate: float, seconds: float) -> dict:
    """Fixed-rate requests; latency from each request's scheduled time to its full answer."""
    n = max(1, int(rate * seconds))
    prefix = uuid.uuid4().hex
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    requests = [(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
                 f"{head}X-Shopify-Event-Id: {prefix}-{i}\r\nX-Shopify-Webhook-Id: {prefix}-{i}\r\n\r\n").encode() + body
                for i in range(n)]
    t0 = time.perf_counter()
    latencies, statuses = asyncio.run(_open_loop(port, requests, rate))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {"rate": rate, "sent": n, "achieved": n / elapsed, "statuses": statuses, "p50_ms": q[49] * 1000,
            "p99_ms": q[98] * 1000, "max_ms": latencies[-1] * 1000}


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc (no pgrep: CI installs no procps)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


DISPATCHER_APP = "bench-webhook-dispatcher"  # the dispatcher's application_name: its backends told apart


def server_pids(server: subprocess.Popen, database_url: str, extra: tuple[int, ...] = ()) -> dict[int, str]:
    """The gunicorn workers ("web"), `extra` (the dispatcher), and the PostgreSQL backends of this database (the
    bench holds none): the web workers' ("web db") and the dispatcher's ("dispatcher db"), by application_name."""
    import psycopg

    pids = {pid: "web" for pid in _children(server.pid)} | {pid: "dispatcher" for pid in extra}
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for pid, app in conn.execute("SELECT pid, application_name FROM pg_stat_activity WHERE datname = %s AND "
                                     "pid <> pg_backend_pid() AND backend_type = 'client backend'", [name]):
            pids[pid] = "dispatcher db" if app == DISPATCHER_APP else "web db"
    return pids


def cpu_ticks(server: subprocess.Popen, database_url: str, extra: tuple[int, ...] = ()) -> dict[int, tuple[str, int]]:
    """CPU ticks each server process has used so far: what requests cost whatever else runs on the machine."""
    return {pid: (group, _ticks(pid)) for pid, group in server_pids(server, database_url, extra).items()}


def cpu_used(before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]) -> dict[str, float]:
    """Seconds of CPU between two readings, by group. Backends come and go (CONN_MAX_AGE=60): a new one counts
    from zero, one that ended during the interval is missed (at most one per worker a minute)."""
    used: dict[str, float] = {}
    for pid, (group, ticks) in after.items():
        used[group] = used.get(group, 0.0) + (ticks - before.get(pid, (group, 0))[1]) / os.sysconf("SC_CLK_TCK")
    return used


def analyze_tables(database_url: str) -> None:
    """ANALYZE the two tables the endpoints write, after the warm-up, as autovacuum would once their first rows are
    in: it is off on this machine, and the TRUNCATEd event table would otherwise keep the plans the workers
    prepared while it was empty (PostgreSQL plans a prepared statement again when the table's statistics change,
    or on a new connection: CONN_MAX_AGE, a minute). An empty table's plan of the webhook INSERT's duplicate check
    (NOT EXISTS) reads the whole table instead of probing the unique index."""
    import psycopg

    from bench.webhooks_urls import FLOOR_TABLE

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"ANALYZE webhooks_webhookevent, {FLOOR_TABLE}")


def queued_event_ids(redis_url: str) -> list[int]:
    """Every event id in the queued processing tasks (Celery's message protocol 2: a base64 JSON body of
    [args, kwargs, embed]), one entry per hand-over."""
    import base64

    import redis

    r = redis.Redis.from_url(redis_url)
    ids: list[int] = []
    for key in r.scan_iter(count=1000):
        if r.type(key) != b"list":
            continue
        for raw in r.lrange(key, 0, -1):
            message = json.loads(raw)
            kwargs = json.loads(base64.b64decode(message["body"]))[1]
            ids += kwargs.get("event_ids") or ([kwargs["event_id"]] if "event_id" in kwargs else [])
    return ids


def event_ids(merchant) -> set[int]:
    from accounts.tenancy import tenant_scope
    from webhooks.models import WebhookEvent

    with tenant_scope(merchant):
        return set(WebhookEvent.objects.filter(merchant=merchant).values_list("pk", flat=True))


def purge_queues(redis_url: str) -> None:
    import redis

    r = redis.Redis.from_url(redis_url)
    for k in list(r.scan_iter(count=1000)):
        if r.type(k) == b"list":
            r.delete(k)


def event_count(merchant) -> int:
    from accounts.tenancy import tenant_scope
    from webhooks.models import WebhookEvent

    with tenant_scope(merchant):
        return WebhookEvent.objects.filter(merchant=merchant).count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s")
    parser.add_argument("--smoke", action="store_true",
                        help="CI: 1 round of 1 s per path, 2 workers, a Python client instead of wrk")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 3
    if args.smoke:
        args.rounds, args.seconds, args.workers, args.connections = 1, 1, 2, 4
    load_round = python_round if args.smoke else wrk_round

    setup_django(args.database_url)
    print(f"Machine: {machine()}. {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
    merchant, integration = new_integration()
    body = order_body()
    hook_path = integration.hook_path
    paths = {"bare": "/bench/bare/", "insert": "/bench/insert/", "webhook": hook_path}
    from django.db import connection

    from bench.webhooks_urls import FLOOR_TABLE

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        cursor.execute(f"CREATE TABLE {FLOOR_TABLE} (id bigserial PRIMARY KEY, body bytea NOT NULL)")
        # Earlier runs' events (no worker ever processed them) would be due again for the dispatcher's sweep and
        # handed out during this run: the bench's database holds nothing else worth keeping.
        cursor.execute("TRUNCATE webhooks_webhookevent")
    headers = base_headers(body)

    from django.db import connections

    connections.close_all()
    port = free_port()
    log = Path(tempfile.gettempdir()) / f"webhooks_bench_gunicorn_{port}.log"
    purge_queues(args.redis_url)
    # No worker reads the queue, so every row stays `received`: with the default 60 s lease (set at the INSERT,
    # renewed by a sweep) the dispatcher's sweep would hand each one out again every minute. An hour: each row
    # is handed out once during the run.
    env = {**server_env(args.database_url, args.redis_url), "WEBHOOK_DISPATCH_LEASE_SECONDS": "3600"}
    dispatcher_url = f"{args.database_url}{'&' if '?' in args.database_url else '?'}application_name={DISPATCHER_APP}"
    dispatcher = start_dispatcher(env={**env, "DATABASE_URL": dispatcher_url},
                                  log=log.with_suffix(".dispatcher.log"))
    try:
        server = start_gunicorn(port=port, workers=args.workers, env=env, log=log)
    except BaseException:
        dispatcher.terminate()
        raise
    extra = (dispatcher.pid,)
    results: dict[str, list[dict]] = {name: [] for name in paths}
    try:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            f.write(body)
        body_path = Path(f.name)
        warm_webhook_ok = 0
        for name, path in paths.items():  # warm up: imports, connections, the first query plans
            warm = load_round(port=port, path=path, body_path=body_path, headers=headers,
                              seconds=min(2, args.seconds), connections=args.connections)
            if warm["errors"] or not warm["ok"]:
                raise SystemExit(f"{name} {path}: {warm['detail']} (see {log})")
            warm_webhook_ok += warm["ok"] if name == "webhook" else 0
        analyze_tables(args.database_url)
        for r in range(args.rounds):
            names = list(paths)
            for name in names[r % 3:] + names[:r % 3]:
                cpu = cpu_ticks(server, args.database_url, extra)
                res = load_round(port=port, path=paths[name], body_path=body_path, headers=headers,
                                 seconds=args.seconds, connections=args.connections)
                used = cpu_used(cpu, cpu_ticks(server, args.database_url, extra))
                res["cpu_ms"] = sum(used.values()) * 1000 / max(1, res["requests"])
                res["cpu_groups"] = {g: s * 1000 / max(1, res["requests"]) for g, s in used.items()}
                results[name].append(res)
                groups = ", ".join(f"{g} {ms:.2f}" for g, ms in sorted(res["cpu_groups"].items()) if ms >= 0.005)
                print(f"  round {r + 1} {name}: {res['rps']:.0f}/s, {res['cpu_ms']:.2f} CPU ms per request ({groups}; "
                      f"errors {res['errors']}, wrk p50 {res['detail']['p50_us'] / 1000:.1f} ms, "
                      f"p99 {res['detail']['p99_us'] / 1000:.1f} ms)", flush=True)
        max_rate = {name: statistics.median(r["rps"] for r in rows) for name, rows in results.items()}
        cpu_ms = {name: statistics.median(r["cpu_ms"] for r in rows) for name, rows in results.items()}
        half = max_rate["webhook"] / 2
        latency = {name: open_loop(port=port, path=paths[name], body=body, headers=headers, rate=half,
                                   seconds=args.seconds * 2) for name in ("webhook", "bare")}
        os.unlink(body_path)
        deadline = time.time() + 60  # the dispatcher's last hand-overs
        while time.time() < deadline and len(event_ids(merchant) - set(queued_event_ids(args.redis_url))):
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
        dispatcher.terminate()
        dispatcher.wait(timeout=30)

    ok_webhook = sum(r["ok"] for r in results["webhook"]) + latency["webhook"]["statuses"].get(200, 0)
    stored = event_count(merchant)
    ours = event_ids(merchant)  # the database may hold earlier runs' rows, due again and handed out too
    handed = [i for i in queued_event_ids(args.redis_url) if i in ours]
    tasks = len(set(handed))
    purge_queues(args.redis_url)

    print()
    print(f"gunicorn {args.workers} sync workers; wrk 1 thread, {args.connections} connections, {args.rounds} rounds "
          f"x {args.seconds:g} s each; body {len(body):,} bytes.")
    print()
    print("| measure | webhook endpoint | bare view | one-INSERT view | webhook / bare | webhook / INSERT |")
    print("|---|---:|---:|---:|---:|---:|")
    w, b, i = (max_rate[n] for n in ("webhook", "bare", "insert"))
    print(f"| requests/s, max (median of {args.rounds}, wrk closed loop) | {w:,.0f} | {b:,.0f} | {i:,.0f} | "
          f"{w / b:.0%} | {w / i:.0%} |")
    w, b, i = (cpu_ms[n] for n in ("webhook", "bare", "insert"))
    print(f"| CPU ms per request, gunicorn workers, the dispatcher and their PostgreSQL backends (median) | {w:.2f} | {b:.2f} | "
          f"{i:.2f} | x{w / b:.1f} | x{w / i:.1f} |")
    for key, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
        w, b = latency["webhook"][key], latency["bare"][key]
        print(f"| {label} ms at {half:,.0f}/s open loop (half the webhook's max) | {w:.1f} | {b:.1f} | | "
              f"x{w / b:.1f} | |")
    print()
    for name in ("webhook", "bare"):
        lat = latency[name]
        print(f"open loop {name}: {lat['sent']} sent at {lat['rate']:.0f}/s (achieved {lat['achieved']:.0f}/s), "
              f"statuses {lat['statuses']}, max {lat['max_ms']:.1f} ms")
    print("rounds (requests/s): " + "; ".join(f"{n} " + ", ".join(f"{r['rps']:.0f}" for r in rows) for n, rows in results.items()))
    print(f"check: {ok_webhook} webhook 200s (warm-up excluded), {stored} WebhookEvent rows (warm-up and requests "
          f"wrk did not count at the end of its rounds included), {len(handed)} hand-overs to the broker by the "
          f"dispatcher, of {tasks} of these rows")
    goal_rate = max_rate["webhook"] >= 0.75 * max_rate["insert"]
    goal_p99 = latency["webhook"]["p99_ms"] < 50
    print(f"goal: >= 75% of the one-INSERT view {'met' if goal_rate else 'MISSED'}; p99 < 50 ms at half load "
          f"{'met' if goal_p99 else 'MISSED'}")
    accepted = ok_webhook + warm_webhook_ok
    failed = sum(r["errors"] for rows in results.values() for r in rows) + sum(
        n for lat in latency.values() for code, n in lat["statuses"].items() if code != 200)
    # wrk stops counting at the end of a round while its connections' last requests are still being served:
    # up to one per connection and round may be stored without being counted as a 200.
    in_flight = args.connections * (args.rounds + 1)
    if (failed or not accepted or not accepted <= stored <= accepted + in_flight or tasks != stored
            or len(handed) != tasks):
        raise SystemExit(f"check failed: {failed} failed requests; {accepted} webhook 200s, {stored} rows, "
                         f"{tasks} of them handed out in {len(handed)} hand-overs (each 200 must be one row, "
                         "each row handed out once)")


if __name__ == "__main__":
    main()
