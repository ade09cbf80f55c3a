"""Integrations benchmark: the sync engine against the Shopify fake (tests/fakes/shopify), in one run.

    .venv/bin/python bench/integrations_bench.py [--quick | --smoke] [--database-url postgres://.../switchboard_integrations_bench]
        [--skip-latency]

1. Push calls: 10,000 listings whose quantity changed, pushed by integrations.sync.stock_push (the
   "channels" availability consumer), counted at the fake beside the minimum Shopify's 250-item input
   cap allows (40).
2. Stock change → quantity at the fake, with a real Celery worker (Redis broker, REDIS_URL): a stock
   adjustment commits, inventory's after-commit hook schedules the debounced push, the worker pushes;
   p50/p95 seconds until the fake shows the new quantity. The debounce (1 s) is part of the figure.
3. Backfill: N orders through the connect job's orders step (pages fetched from the fake, each order
   through order_ingest, a checkpoint per page), orders/s, beside order_ingest alone on the same
   normalized orders (another merchant) in the same run. Tasks are eager here, so the debounced stock
   push each ingest's reservation schedules is held off for both (with a worker it runs beside ingest).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/switchboard_integrations_bench"


def new_merchant(name: str):
    from accounts.models import User
    from accounts.services import merchant_create

    user = User.objects.create_user(f"{name.lower().replace(' ', '-')}-{time.time_ns()}@bench.example", "x" * 16)
    return merchant_create(name=name, owner=user)


def machine() -> str:
    import platform

    from django.db import connection

    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    return f"{os.cpu_count()} CPUs (nproc), {mem_gb:.0f} GB RAM, PostgreSQL {pg}, Python {platform.python_version()}"


def store(fake, merchant, *, domain: str, copies: int, stock: int):
    """A fake shop with `copies` x 4 variants; our products (bulk-loaded, one level each at the default
    location) and listings matched to them, as after a connect."""
    from django.utils import timezone

    from integrations.models import Integration, Listing
    from inventory.models import Location, Product, StockLevel
    from tests.fakes.shopify import seed_catalog

    shop = fake.add_shop(domain, plan="enterprise")
    seed_catalog(shop, copies=copies)
    token = fake.issue_token(shop.domain)
    location = Location.objects.get(merchant=merchant, is_default=True)
    variants = sorted(shop.variants.values(), key=lambda v: v.id)
    now = timezone.now()
    products = Product.objects.bulk_create([Product(merchant=merchant, sku=v.sku, title=v.sku) for v in variants],
                                           batch_size=2000)
    StockLevel.objects.bulk_create([StockLevel(merchant=merchant, product=p, location=location, on_hand=stock)
                                    for p in products], batch_size=2000)
    integration = Integration.objects.create(
        merchant=merchant, channel="shopify", name=domain, credentials={"shop_domain": shop.domain, "access_token": token}, account_ref=shop.domain,
        settings={"backfill_days": 60, "location_external_id": str(shop.primary_location().id)})
    Listing.objects.bulk_create([
        Listing(merchant=merchant, integration=integration, external_id=str(v.id), channel_ref=str(v.inventory_item_id),
                sku=v.sku, product=p, channel_quantity=v_available(shop, v), created_at=now)
        for v, p in zip(variants, products, strict=True)], batch_size=2000)
    return shop, integration, products


def v_available(shop, variant) -> int:
    return shop.quantity(variant.inventory_item_id, shop.primary_location().id)


def bench_push(fake, *, copies: int) -> dict:
    from accounts.tenancy import tenant_scope
    from integrations.sync import stock_push
    from inventory.services import availability_mark

    merchant = new_merchant("Push bench")
    with tenant_scope(merchant):
        shop, integration, products = store(fake, merchant, domain="push-bench.myshopify.com", copies=copies, stock=7)
        availability_mark(merchant=merchant, product_ids=[p.pk for p in products])
        before = len(fake.calls(root_field="inventorySetQuantities"))
        start = time.perf_counter()
        result = stock_push(merchant=merchant, limit=len(products) + 10)
        seconds = time.perf_counter() - start
    calls = len(fake.calls(root_field="inventorySetQuantities")) - before
    n = len(products)
    return {"skus": n, "calls": calls, "minimum": -(-n // 250), "pushed": result["pushed"], "failed": result["failed"],
            "seconds": seconds}


def bench_latency(fake, *, rounds: int) -> dict:
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings
    from django.db import transaction

    from accounts.tenancy import tenant_scope
    from config.celery import app
    from integrations.models import Listing
    from inventory import services as inventory_services

    if not settings.REDIS_URL:
        return {"skipped": "REDIS_URL is not set"}
    merchant = new_merchant("Latency bench")
    with tenant_scope(merchant):
        shop, integration, products = store(fake, merchant, domain="latency-bench.myshopify.com", copies=1, stock=500)
        location = shop.primary_location().id
        for p in products:
            variant = shop.variant_by_sku(p.sku)
            shop.set_quantity(variant.inventory_item_id, location, 500)
        Listing.objects.filter(merchant=merchant, integration=integration).update(last_pushed_quantity=500,
                                                                                  channel_quantity=500)
    product = products[0]
    item = shop.variant_by_sku(product.sku).inventory_item_id
    samples = []
    app.conf.task_always_eager = False
    app.conf.broker_url = settings.REDIS_URL
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            expected = 500
            for _ in range(rounds):
                expected -= 1
                start = time.monotonic()
                with tenant_scope(merchant), transaction.atomic():
                    inventory_services.stock_adjust(merchant=merchant, product_id=product.pk, delta=-1,
                                                    reason="adjustment")
                while shop.quantity(item, location) != expected and time.monotonic() - start < 30:
                    time.sleep(0.01)
                samples.append(time.monotonic() - start)
                time.sleep(0.2)
    finally:
        app.conf.task_always_eager = True
    samples.sort()
    return {"rounds": rounds, "p50": statistics.median(samples),
            "p95": samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))], "max": samples[-1]}


def hold_debounced_push(merchant) -> None:
    """With a worker, a stock change's push runs beside the ingest, not in it; here tasks are eager, so
    the debounce key is held for the measurement and ingest is timed alone, as in production."""
    from django.core.cache import cache

    from integrations.sync.stock import DEBOUNCE_KEY

    cache.set(DEBOUNCE_KEY.format(merchant_id=merchant.pk), 1, timeout=3600)


def bench_backfill(fake, *, n: int) -> dict:
    from accounts.tenancy import tenant_scope
    from integrations.sync import integration_poll
    from integrations.sync.common import ChannelSession
    from orders.services import order_ingest
    from tests.fakes.shopify import seed_orders

    merchant = new_merchant("Backfill bench")
    with tenant_scope(merchant):
        shop, integration, _ = store(fake, merchant, domain="backfill-bench.myshopify.com", copies=25, stock=10**6)
        seed_orders(shop, n, lines=2, start=datetime.now(UTC) - timedelta(days=5), step=timedelta(seconds=30))
        hold_debounced_push(merchant)
        start = time.perf_counter()
        integration_poll(merchant=merchant, integration_id=integration.pk)
        engine_s = time.perf_counter() - start
        session = ChannelSession(merchant=merchant, integration=integration)
        normalized, cursor = [], None
        while True:
            page = session.adapter.fetch_orders(None, cursor)
            normalized += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
    other = new_merchant("Ingest bench")
    with tenant_scope(other):
        store(fake, other, domain="ingest-bench.myshopify.com", copies=25, stock=10**6)
        hold_debounced_push(other)
        start = time.perf_counter()
        for order in normalized:
            order_ingest(merchant=other, integration_id=None, normalized=order)
        ingest_s = time.perf_counter() - start
    return {"orders": n, "engine_s": engine_s, "engine_per_s": n / engine_s, "ingest_s": ingest_s,
            "ingest_per_s": len(normalized) / ingest_s}


def markdown(out: dict) -> str:
    lines = ["## Integrations (sync engine against the Shopify fake)", "",
             f"{out['machine']}; {out['date']}{' (quick sizes)' if out['quick'] else ''}. "
             "`bench/integrations_bench.py`.", ""]
    p = out["push"]
    lines += [f"- Push {p['skus']:,} changed SKUs: **{p['calls']} inventorySetQuantities calls** (minimum "
              f"{p['minimum']} at 250 items per call), {p['pushed']:,} pushed, {p['failed']} failed, "
              f"{p['seconds']:.1f} s."]
    lat = out.get("latency") or {}
    if "p50" in lat:
        lines += [f"- Stock change → quantity at the fake, real worker, {lat['rounds']} changes: p50 "
                  f"{lat['p50']:.2f} s, p95 {lat['p95']:.2f} s, max {lat['max']:.2f} s (includes the 1 s debounce)."]
    elif lat:
        lines += [f"- Stock change latency: skipped ({lat['skipped']})."]
    b = out["backfill"]
    lines += [f"- Backfill {b['orders']:,} orders from the fake: **{b['engine_per_s']:.0f} orders/s** through the "
              f"engine ({b['engine_s']:.1f} s) beside {b['ingest_per_s']:.0f} orders/s for order_ingest alone "
              f"({b['ingest_s']:.1f} s) on the same orders."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--smoke", action="store_true", help="CI (make bench-smoke): tiny sizes, a few seconds; proves the benchmark runs, measures nothing")
    parser.add_argument("--database-url", default=os.environ.get("INTEGRATIONS_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()
    os.environ.setdefault("CHANNEL_HTTP_BACKOFF_BASE", "0.05")
    setup_django(args.database_url)
    from django.conf import settings

    from tests.fakes.shopify import ShopifyFake

    out = {"machine": machine(), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick}
    print(out["machine"], out["date"], flush=True)
    with ShopifyFake() as fake:
        settings.SHOPIFY_API_BASE_URL = fake.base_url_template
        out["push"] = bench_push(fake, copies=10 if args.smoke else 250 if args.quick else 2500)
        print(f"push: {out['push']}", flush=True)
        if not args.skip_latency:
            out["latency"] = bench_latency(fake, rounds=2 if args.smoke else 5 if args.quick else 20)
            print(f"latency: {out['latency']}", flush=True)
        out["backfill"] = bench_backfill(fake, n=20 if args.smoke else 200 if args.quick else 1000)
        print(f"backfill: {out['backfill']}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    print("\n" + markdown(out))


if __name__ == "__main__":
    main()
