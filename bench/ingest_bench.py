"""Ingest benchmark: a page at a time (order_ingest_many) against a bare COPY and against one order at a time.

    .venv/bin/python bench/ingest_bench.py [--quick | --smoke] [--database-url postgres://.../switchboard_ingest_bench]

N orders of 3 lines (default 100,000) over 10,000 SKUs, normalized from channel-shaped payloads as an adapter
would (bench/orders_bench.py's payload and normalize), then:
1. orders.services.order_ingest_many in pages of 250 (what integrations.sync.connect.orders_page_ingest does
   for every backfill and poll page): one transaction per page;
2. a bare `COPY` of the same order and line rows (another merchant), in the same run: the floor, in slices of
   5,000 orders interleaved with the pages (the median of the slices' ratios is printed too);
3. orders.services.order_ingest one order per transaction (a webhook's path) for a smaller number of orders
   (default 5,000; rates are per order, so the sizes need not match).
Then a re-read of the first 10 pages (every order "unchanged", a poll that finds nothing new), and
inventory_audit-style check of the service's levels against the ledger. Prints orders/s and ratios.

Tasks: by default Celery runs eagerly (bench/common.py), so what a commit schedules (the availability outbox's
stock push, once per committed page or order) runs inside the timed loop. `--broker redis://host:6379/<db>`
runs as production does instead: tasks are published to that Redis database (no worker reads them; they are
purged at the end), and the ingest pays only the publish.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import purge_queues, setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/switchboard_ingest_bench"
PAGE = 250
CHUNK = 5_000  # orders per slice of pages between two COPYs


def catalog(name: str, skus: list[str]):
    from accounts.tenancy import tenant_scope
    from bench.orders_bench import new_merchant
    from inventory.models import Product, StockLevel
    from inventory.selectors import location_default
    from inventory.services import AdjustLine, stock_adjust_many
    from notifications.services import notification_settings_update

    merchant, _ = new_merchant(name)
    with tenant_scope(merchant):
        # New-order emails go out from a worker in production; the bench merchant takes the daily digest.
        notification_settings_update(merchant=merchant, new_order_mode="digest")
        loc = location_default(merchant=merchant)
        products = Product.objects.bulk_create([Product(merchant=merchant, sku=s, title=s) for s in skus],
                                               batch_size=5000)
        StockLevel.objects.bulk_create([StockLevel(merchant=merchant, product=p, location=loc) for p in products],
                                       batch_size=5000)
        stock_adjust_many(merchant=merchant, lines=[AdjustLine(product_id=p.pk, delta=10**6, reason="received")
                                                    for p in products])
    return merchant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--smoke", action="store_true",
                        help="CI (make bench-smoke): tiny sizes, a few seconds; proves the benchmark runs")
    parser.add_argument("--database-url", default=os.environ.get("INGEST_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--orders", type=int, help="orders through order_ingest_many (default 100,000)")
    parser.add_argument("--single", type=int, help="orders through order_ingest one by one (default 5,000)")
    parser.add_argument("--broker", default=os.environ.get("INGEST_BENCH_BROKER", ""),
                        help="a Redis URL: publish tasks there as production does instead of running them eagerly")
    args = parser.parse_args()
    n = args.orders or (500 if args.smoke else 10_000 if args.quick else 100_000)
    single = args.single or (50 if args.smoke else 1_000 if args.quick else 5_000)
    n_skus = 100 if args.smoke else 10_000
    setup_django(args.database_url, redis_url=args.broker or None)
    if args.broker:
        purge_queues(args.broker)

    from django.db import connection

    from accounts.tenancy import tenant_scope
    from bench.orders_bench import copy_baseline, machine, normalize, payload
    from inventory.selectors import audit_differences
    from orders.models import Order, OrderLine
    from orders.services import order_ingest, order_ingest_many

    skus = [f"ING-{i:05d}" for i in range(n_skus)]
    payloads = [payload(i, skus) for i in range(n)]
    print(machine(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), flush=True)

    merchant = catalog("Page bench", skus)
    print(f"order_ingest_many: {n:,} orders x 3 lines, pages of {PAGE}, each {CHUNK:,} followed by a COPY of "
          "the same rows ...", flush=True)
    # The COPY baseline runs in slices interleaved with the pages (each slice of pages, then a COPY of the same
    # rows into another merchant): on a machine shared with other work both see the same load, and the median of
    # the slices' ratios is what a load that comes and goes moves least.
    many_s = copy_s = 0.0
    ratios = []
    for c in range(0, n, CHUNK):
        chunk = payloads[c:c + CHUNK]
        start = time.perf_counter()
        with tenant_scope(merchant):
            for k in range(0, len(chunk), PAGE):
                page = [normalize(p) for p in chunk[k:k + PAGE]]
                results = order_ingest_many(merchant=merchant, integration_id=None, orders=page)
                assert all(r.outcome == "created" for r in results), {getattr(r, "outcome", r) for r in results}
        spent = time.perf_counter() - start
        copied = copy_baseline(chunk)
        many_s, copy_s = many_s + spent, copy_s + copied
        ratios.append(copied / spent)
        if c and c % 20_000 == 0:
            print(f"  {c:,}: pages {many_s:.0f}s, COPY {copy_s:.1f}s", flush=True)
    with tenant_scope(merchant):
        assert Order.objects.filter(merchant=merchant).count() == n
        assert OrderLine.objects.filter(merchant=merchant, quantity_reserved__gt=0).count() == 3 * n
        start = time.perf_counter()
        reread = min(n, 10 * PAGE)
        for k in range(0, reread, PAGE):
            page = [normalize(p) for p in payloads[k:k + PAGE]]
            assert {r.outcome for r in order_ingest_many(merchant=merchant, integration_id=None, orders=page)} == {
                "unchanged"}
        reread_s = time.perf_counter() - start

    one = catalog("One-by-one bench", skus)
    print(f"order_ingest one by one: {single:,} orders ...", flush=True)
    start = time.perf_counter()
    with tenant_scope(one):
        for p in payloads[:single]:
            order_ingest(merchant=one, integration_id=None, normalized=normalize(p))
    single_s = time.perf_counter() - start

    diffs = []
    for m in (merchant, one):
        with tenant_scope(m):
            diffs += audit_differences(merchant=m)
    many_rate, copy_rate, single_rate = n / many_s, n / copy_s, single / single_s
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    print(f"\nmode {mode}, PostgreSQL {pg}\n")
    print("| path | orders | orders/s | share of COPY's rate |")
    print("|---|---:|---:|---:|")
    print(f"| `order_ingest_many`, pages of {PAGE} | {n:,} | {many_rate:,.0f} | {many_rate / copy_rate:.1%} |")
    print(f"| `order_ingest`, one order per transaction | {single:,} | {single_rate:,.0f} | "
          f"{single_rate / copy_rate:.1%} |")
    print(f"| bare `COPY` of the same order and line rows | {n:,} | {copy_rate:,.0f} | 100% |")
    print(f"| re-read of {reread:,} ingested orders by pages (all unchanged) | {reread:,} | {reread / reread_s:,.0f} | |")
    print(f"\nmedian over the {len(ratios)} slice(s) of {min(CHUNK, n):,} orders of (pages' rate / COPY's rate): "
          f"{statistics.median(ratios):.1%} (lowest {min(ratios):.1%}, highest {max(ratios):.1%})")
    print(f"\npage vs one by one: x{many_rate / single_rate:.1f}; ledger check: "
          f"{'clean' if not diffs else f'{len(diffs)} differing rows'}")
    tasks = "published to " + args.broker + " (no worker; purged)" if args.broker else "run eagerly in the loop"
    print(f"tasks: {tasks}")
    if args.broker:
        purge_queues(args.broker)
    if diffs:
        raise SystemExit(f"ledger check failed: {diffs[:5]}")


if __name__ == "__main__":
    main()
