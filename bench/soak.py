"""Soak: signed Shopify order webhooks through gunicorn at a steady rate for minutes, with the production
processes running (web, `manage.py webhook_dispatcher`, a Celery worker) and stock pushed to the Shopify fake
as orders reserve it. Issue 20's "done means": errors, p99, web and worker memory at start and end, and nothing
lost (every delivery is one order, `inventory_audit` clean).

    .venv/bin/python bench/soak.py [--minutes 10] [--rate R] [--smoke] [--database-url postgres://.../sw_soak]
        [--redis-url redis://127.0.0.1:6379/9] [--web-workers 4] [--worker-concurrency 2]

1. Setup: a fresh merchant, a shop at the Shopify fake (in this process, a threaded HTTP server) with 16 SKUs,
   our products with stock and listings matched to them, as after a connect.
2. Capacity (unless `--rate`): a closed loop of signed deliveries (8 connections, `--calibrate-seconds`) with
   everything running; two figures: acknowledgements/s, and orders/s end to end (deliveries over the time
   until the last became an order). The soak runs at half of the lower one: at half the acknowledgement rate
   alone, a worker that ingests slower than the web acknowledges would only build a backlog.
3. Soak: an open loop at that rate for `--minutes` (each latency from its scheduled send, so no coordinated
   omission): p50/p99/max of the acknowledgement, non-200 answers and connection errors; RSS of the web
   (gunicorn master and workers), the worker (celery and its children) and the dispatcher, sampled every
   30 s; the processing backlog (accepted deliveries not yet an order) at each sample.
4. Checks after the backlog drains: every accepted delivery is one processed event and one order (none
   failed or dead), `inventory_audit` reconciles, and the fake's quantity for every listing is what we
   hold available (the last stock pushes arrived). Exit 1 if any check fails.

`--smoke` (bench/smoke.py, CI): 5 deliveries/s for 5 s, no calibration, a solo worker; proves the path works.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402
from bench.webhooks_bench import free_port, start_dispatcher, start_gunicorn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/switchboard_soak"
SECRET = "soak-client-secret-" + "y" * 24
DOMAIN = "soak-store.myshopify.com"
STOCK = 10**6


# ---------------------------------------------------------------- setup


def new_store(fake):
    """A merchant connected to a fake shop: products, one stock level each, listings matched, as after a connect."""
    from accounts.models import User
    from accounts.services import merchant_create
    from accounts.tenancy import tenant_scope
    from core.receivers import webhook_path
    from integrations.models import Integration, Listing
    from inventory.models import Location, Product, StockLevel
    from inventory.services import stock_adjust
    from tests.fakes.shopify import seed_catalog

    user = User.objects.create_user(f"soak-{time.time_ns()}@bench.example", "x" * 16)
    merchant = merchant_create(name="Soak", owner=user)
    shop = fake.add_shop(DOMAIN, plan="enterprise")
    seed_catalog(shop, copies=4, available=STOCK)
    token = fake.issue_token(shop.domain)
    with tenant_scope(merchant):
        location = Location.objects.get(merchant=merchant, is_default=True)
        variants = sorted(shop.variants.values(), key=lambda v: v.id)
        products = Product.objects.bulk_create([Product(merchant=merchant, sku=v.sku, title=v.sku) for v in variants])
        StockLevel.objects.bulk_create([StockLevel(merchant=merchant, product=p, location=location)
                                        for p in products])
        for p in products:  # through the ledger, so inventory_audit reconciles
            stock_adjust(merchant=merchant, product_id=p.pk, delta=STOCK, reason="adjustment")
        integration = Integration.objects.create(
            merchant=merchant, channel="shopify", name=DOMAIN, account_ref=shop.domain,
            credentials={"shop_domain": shop.domain, "access_token": token, "client_secret": SECRET},
            settings={"backfill_days": 60, "location_external_id": str(shop.primary_location().id)})
        Listing.objects.bulk_create([
            Listing(merchant=merchant, integration=integration, external_id=str(v.id),
                    channel_ref=str(v.inventory_item_id), sku=v.sku, product=p, channel_quantity=STOCK,
                    last_pushed_quantity=STOCK)
            for v, p in zip(variants, products, strict=True)])
        path = webhook_path(kind="channel", owner=integration)
    return merchant, shop, integration, variants, path


def order_delivery(order_id: int, variants, rng: random.Random) -> tuple[bytes, dict[str, str]]:
    """One signed orders/create delivery (body, headers): a new order of 1-3 lines of the shop's SKUs."""
    from tests.fakes.shopify.webhooks import webhook_request

    lines = []
    for i, v in enumerate(rng.sample(variants, rng.randint(1, 3))):
        lines.append({"id": order_id * 10 + i, "variant_id": v.id, "sku": v.sku, "title": v.sku, "name": v.sku,
                      "quantity": rng.randint(1, 3), "price": "10.00"})
    subtotal = sum(line["quantity"] * 10 for line in lines)
    body = {
        "id": order_id, "name": f"#S{order_id}", "email": "soak@example.test",
        "created_at": "2026-12-07T10:00:00+00:00", "updated_at": "2026-12-07T10:00:00+00:00", "cancelled_at": None,
        "currency": "USD", "subtotal_price": f"{subtotal:.2f}", "total_tax": "0.00",
        "total_price": f"{subtotal + 5:.2f}", "financial_status": "paid", "fulfillment_status": None,
        "line_items": lines, "shipping_lines": [{"title": "Standard", "price": "5.00"}],
        "shipping_address": {"name": "Ada Lovelace", "address1": "1 Example St", "city": "Springfield",
                             "province_code": "OR", "zip": "97477", "country_code": "US"},
        "customer": {"id": 4242, "email": "soak@example.test", "first_name": "Ada", "last_name": "Lovelace"},
    }
    raw, headers = webhook_request(topic="orders/create", body=body, secret=SECRET, shop_domain=DOMAIN,
                                   event_id=str(uuid.uuid4()))
    return raw, headers


def http_request(path: str, raw: bytes, headers: dict[str, str]) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {len(raw)}\r\n"
            f"{head}\r\n").encode() + raw


# ---------------------------------------------------------------- processes and memory


def start_worker(env: dict[str, str], log: Path, concurrency: int, smoke: bool) -> subprocess.Popen:
    pool = ["--pool=solo"] if smoke else ["--pool=prefork", f"--concurrency={concurrency}"]
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", *pool, "--loglevel=INFO",
                             "--without-mingle", "--without-gossip", "--without-heartbeat"],
                            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if " ready." in log.read_text(errors="replace"):
            return proc
        time.sleep(0.5)
    raise SystemExit(f"the worker did not start; see {log}")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def rss_mb(pid: int, *, with_children: bool = True) -> float:
    """Resident memory of a process and its children, MB (VmRSS; shared pages counted in each)."""
    total = 0
    for p in [pid, *(_children(pid) if with_children else [])]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


# ---------------------------------------------------------------- load


async def _one(port: int, raw: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()
    writer.close()
    return int(data[9:12]) if data[:5] == b"HTTP/" else 0


async def open_loop(port: int, make, rate: float, seconds: float, on_sample, sample_every: float = 30.0) -> dict:
    """`rate` requests/s for `seconds`, each built by `make(i)` just before it is due; latency from its
    scheduled time. `on_sample(elapsed)` runs every `sample_every` s (memory, backlog)."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = loop.time() + 0.5
    n = int(rate * seconds)
    pending: set[asyncio.Task] = set()

    async def fire(due: float, raw: bytes) -> None:
        try:
            code = await asyncio.wait_for(_one(port, raw), timeout=60)
        except (TimeoutError, OSError):
            code = 0
        latencies.append(loop.time() - due)
        statuses[code] = statuses.get(code, 0) + 1

    next_sample = sample_every
    for i in range(n):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(fire(due, make(i)))
        pending.add(task)
        task.add_done_callback(pending.discard)
        if due - start >= next_sample:
            next_sample += sample_every
            await loop.run_in_executor(None, on_sample, due - start)
    await asyncio.gather(*pending)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {"sent": n, "statuses": statuses, "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "max_ms": latencies[-1] * 1000, "seconds": loop.time() - start}


def closed_loop(port: int, make, seconds: float, connections: int = 8) -> dict:
    """Each connection sends its next delivery when the last is answered: the acknowledgement capacity."""
    import http.client
    import threading

    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))
    lock = threading.Lock()
    ok = errors = 0

    def client() -> None:
        nonlocal ok, errors
        while time.perf_counter() < deadline:
            with lock:
                i = next(counter)
            raw = make(i)
            head, body = raw.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")[1:]
            headers = dict(line.split(": ", 1) for line in lines)
            path = raw.split(b" ", 2)[1].decode()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", path, body=body, headers=headers)
                status = conn.getresponse().status
                conn.close()
            except OSError:
                status = 0
            with lock:
                if status == 200:
                    ok += 1
                else:
                    errors += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"ok": ok, "errors": errors, "seconds": time.perf_counter() - started}


# ---------------------------------------------------------------- checks


def counts(merchant) -> dict[str, int]:
    from django.db.models import Count

    from accounts.tenancy import tenant_scope
    from orders.models import Order
    from webhooks.models import WebhookEvent

    with tenant_scope(merchant):
        events = dict(WebhookEvent.objects.filter(merchant=merchant).values_list("status")
                      .annotate(n=Count("id")).values_list("status", "n"))
        orders = Order.objects.filter(merchant=merchant).count()
    return {"orders": orders, **{f"events_{k}": v for k, v in events.items()}}


def wait_drained(merchant, accepted: int, bound: float) -> float:
    """Until every accepted delivery is an order and no event is pending; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < bound:
        c = counts(merchant)
        if c["orders"] >= accepted and not any(c.get(f"events_{s}", 0) for s in ("received", "processing")):
            break
        time.sleep(1)
    return time.monotonic() - started


def push_mismatches(merchant, shop, bound: float) -> list[str]:
    """Listings whose quantity at the fake is not what we hold available, after waiting up to `bound` s for
    the debounced pushes in flight."""
    from accounts.tenancy import tenant_scope
    from integrations.models import Listing
    from inventory.models import StockLevel

    deadline = time.monotonic() + bound
    location = shop.primary_location().id
    while True:
        with tenant_scope(merchant):
            available = {row["product_id"]: row["on_hand"] - row["reserved"]
                         for row in StockLevel.objects.filter(merchant=merchant).values("product_id", "on_hand", "reserved")}
            listings = list(Listing.objects.filter(merchant=merchant).values("product_id", "channel_ref", "sku"))
        wrong = [f"{row['sku']}: fake {shop.quantity(int(row['channel_ref']), location)}, ours {available[row['product_id']]}"
                 for row in listings if shop.quantity(int(row["channel_ref"]), location) != available[row["product_id"]]]
        if not wrong or time.monotonic() > deadline:
            return wrong
        time.sleep(1)


def inventory_audit(merchant) -> str:
    from io import StringIO

    from django.core.management import CommandError, call_command

    out, err = StringIO(), StringIO()
    try:
        call_command("inventory_audit", merchant=merchant.pk, stdout=out, stderr=err)
    except CommandError as exc:
        return f"FAILED: {exc} {err.getvalue()[-2000:]}"
    return out.getvalue().strip()


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("SOAK_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, help="deliveries/s (default: half the calibrated capacity)")
    parser.add_argument("--calibrate-seconds", type=float, default=30)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="CI: 5/s for 5 s, solo worker")
    args = parser.parse_args()
    if args.smoke:
        args.minutes, args.rate, args.web_workers = 5 / 60, 5.0, 2

    os.environ["CHANNEL_HTTP_BACKOFF_BASE"] = "0.05"
    setup_django(args.database_url)
    from django.conf import settings
    from django.db import connections

    from bench.webhooks_bench import machine, purge_queues
    from tests.fakes.shopify import ShopifyFake

    print(f"Machine: {machine()}. {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.", flush=True)
    rng = random.Random(20261207)
    logs = Path(tempfile.mkdtemp(prefix="soak-"))
    with ShopifyFake() as fake:
        settings.SHOPIFY_API_BASE_URL = fake.base_url_template
        merchant, shop, integration, variants, path = new_store(fake)
        connections.close_all()
        env = {k: v for k, v in os.environ.items() if k not in ("CELERY_TASK_ALWAYS_EAGER", "SWITCHBOARD_TESTING")}
        env.update(DATABASE_URL=args.database_url, REDIS_URL=args.redis_url, CELERY_TASK_ALWAYS_EAGER="0", DEBUG="0",
                   WEBHOOK_DISPATCH="dispatcher", DJANGO_SETTINGS_MODULE="config.settings",
                   LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"), PYTHONPATH=str(ROOT),
                   SHOPIFY_API_BASE_URL=fake.base_url_template, OUTBOUND_ALLOWED_PRIVATE_HOSTS="127.0.0.1,localhost",
                   CHANNEL_HTTP_BACKOFF_BASE="0.05")
        purge_queues(args.redis_url)
        port = free_port()
        dispatcher = start_dispatcher(env=env, log=logs / "dispatcher.log")
        web = start_gunicorn(port=port, workers=args.web_workers, env=env, log=logs / "gunicorn.log")
        worker = start_worker(env, logs / "worker.log", args.worker_concurrency, args.smoke)
        next_id = iter(range(7_000_000_000, 8_000_000_000))

        def make(_i: int) -> bytes:
            return http_request(path, *order_delivery(next(next_id), variants, rng))

        try:
            accepted = 0
            calibration = None
            if args.rate is None:
                t0 = time.monotonic()
                calibration = closed_loop(port, make, args.calibrate_seconds)
                accepted += calibration["ok"]
                wait_drained(merchant, accepted, bound=600)
                calibration["ack_per_s"] = calibration["ok"] / calibration["seconds"]
                calibration["orders_per_s"] = calibration["ok"] / (time.monotonic() - t0)
                args.rate = round(min(calibration["ack_per_s"], calibration["orders_per_s"]) / 2, 1)
                print(f"capacity: {calibration['ack_per_s']:.0f} acknowledgements/s, {calibration['orders_per_s']:.0f} "
                      f"orders/s end to end ({calibration['ok']} deliveries, {calibration['errors']} errors); "
                      f"soak at {args.rate}/s", flush=True)
            before = counts(merchant)
            pushes_before = len(fake.calls(root_field="inventorySetQuantities"))
            samples: list[dict] = []

            def sample(elapsed: float) -> None:
                c = counts(merchant)
                row = {"t": round(elapsed), "web_mb": rss_mb(web.pid), "worker_mb": rss_mb(worker.pid),
                       "dispatcher_mb": rss_mb(dispatcher.pid, with_children=False),
                       "orders": c["orders"] - before["orders"], "load": os.getloadavg()[0]}
                samples.append(row)
                print(f"  t={row['t']}s web {row['web_mb']:.0f} MB, worker {row['worker_mb']:.0f} MB, dispatcher "
                      f"{row['dispatcher_mb']:.0f} MB, orders so far {row['orders']}, load {row['load']:.1f}",
                      flush=True)

            sample(0)
            soak = asyncio.run(open_loop(port, make, args.rate, args.minutes * 60, sample,
                                         sample_every=2 if args.smoke else 30))
            sample(soak["seconds"])
            ok = soak["statuses"].get(200, 0)
            accepted += ok
            drain_s = wait_drained(merchant, accepted, bound=120 if args.smoke else 900)
            after = counts(merchant)
            wrong = push_mismatches(merchant, shop, bound=30)
            pushes = len(fake.calls(root_field="inventorySetQuantities")) - pushes_before
            push_errors = len([c for c in fake.calls(root_field="inventorySetQuantities") if c.status != 200])
            audit = inventory_audit(merchant)
            end_mem = {"web_mb": rss_mb(web.pid), "worker_mb": rss_mb(worker.pid),
                       "dispatcher_mb": rss_mb(dispatcher.pid, with_children=False)}
        finally:
            for proc in (web, dispatcher, worker):
                proc.send_signal(signal.SIGTERM)
            for proc in (web, dispatcher, worker):
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
            purge_queues(args.redis_url)

    errors = soak["sent"] - ok
    lost = accepted - after["orders"]
    not_processed = accepted - after.get("events_processed", 0)
    print()
    print(f"Soak: {args.minutes:g} min at {args.rate}/s open loop ({soak['sent']} deliveries), gunicorn "
          f"{args.web_workers} sync workers, 1 dispatcher, 1 Celery worker (concurrency "
          f"{1 if args.smoke else args.worker_concurrency}); logs in {logs}.")
    if calibration:
        print(f"Capacity measured first (closed loop, 8 connections, {args.calibrate_seconds:g} s, everything running): "
              f"{calibration['ack_per_s']:.0f} acknowledgements/s, {calibration['orders_per_s']:.0f} orders/s end to end.")
    print()
    print("| measure | value |")
    print("|---|---:|")
    print(f"| deliveries sent / answered 200 / errors (non-200 or no answer) | {soak['sent']:,} / {ok:,} / {errors} "
          f"{dict((k, v) for k, v in soak['statuses'].items() if k != 200) or ''} |")
    print(f"| acknowledgement p50 / p99 / max ms | {soak['p50_ms']:.1f} / {soak['p99_ms']:.1f} / {soak['max_ms']:.0f} |")
    first, last = samples[0], samples[-1]
    print(f"| web RSS MB (gunicorn master + workers) start / end of load / after drain | {first['web_mb']:.0f} / "
          f"{last['web_mb']:.0f} / {end_mem['web_mb']:.0f} |")
    print(f"| worker RSS MB (celery + children) start / end of load / after drain | {first['worker_mb']:.0f} / "
          f"{last['worker_mb']:.0f} / {end_mem['worker_mb']:.0f} |")
    print(f"| dispatcher RSS MB start / end | {first['dispatcher_mb']:.0f} / {end_mem['dispatcher_mb']:.0f} |")
    print(f"| orders at the end of the load / backlog drained in | {last['orders']:,} / {drain_s:.0f} s |")
    print(f"| every accepted delivery one order (accepted incl. calibration {accepted:,}, orders {after['orders']:,}) "
          f"| {'yes' if lost == 0 else f'NO: {lost} missing'} |")
    print(f"| events processed / failed / dead | {after.get('events_processed', 0):,} / "
          f"{after.get('events_failed', 0)} / {after.get('events_dead', 0)} |")
    print(f"| stock pushes to the fake (inventorySetQuantities calls, non-200) | {pushes:,} ({push_errors}) |")
    print(f"| listings whose fake quantity differs from ours at the end | {len(wrong)} |")
    print(f"| inventory_audit | {audit} |")
    print("samples: " + json.dumps(samples))
    failed = []
    if errors:
        failed.append(f"{errors} deliveries not acknowledged")
    if lost or not_processed:
        failed.append(f"{lost} orders missing, {not_processed} events not processed")
    if after.get("events_failed") or after.get("events_dead"):
        failed.append("events failed or dead")
    if wrong:
        failed.append(f"stock at the fake differs: {wrong[:5]}")
    if audit.startswith("FAILED"):
        failed.append("inventory_audit")
    if failed:
        raise SystemExit("soak check failed: " + "; ".join(failed))


if __name__ == "__main__":
    main()
