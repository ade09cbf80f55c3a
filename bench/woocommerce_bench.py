"""WooCommerce benchmark: the sync engine against the WooCommerce fake (tests/fakes/woocommerce), in one run.

    .venv/bin/python bench/woocommerce_bench.py [--quick | --smoke] [--database-url postgres://.../switchboard_woocommerce_bench]

1. Push calls: 10,000 listings whose quantity changed, half of them variations across 200 variable parents,
   pushed by integrations.sync.stock_push, counted at the fake beside the minimum the 100-object batch limit
   allows for WooCommerce's grouping (simple products together through /products/batch, each parent's
   variations through its own /products/{parent}/variations/batch): ceil(simple / 100) + sum over parents of
   ceil(variations / 100).
2. Backfill: N orders through the engine's poll (pages of 100 fetched from the fake, each order through
   order_ingest, a checkpoint per page), orders/s, beside order_ingest alone on the same normalized orders
   (another merchant, no e-mails, as the backfill sends none) in the same run. Tasks are eager here, so the debounced stock push each ingest's
   reservation schedules is held off for both (with a worker it runs beside ingest).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402
from bench.integrations_bench import hold_debounced_push, machine, new_merchant  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/switchboard_woocommerce_bench"


def store(fake, merchant, *, simple: int, parents: int, per_parent: int, stock: int, name: str):
    """`simple` simple products and `parents` variable products of `per_parent` variations each on the fake;
    our products (bulk-loaded, one level each at the default location) and listings matched to them."""
    from django.utils import timezone

    from integrations.models import Integration, Listing
    from inventory.models import Location, Product, StockLevel

    key = fake.add_key()
    tag = name.lower().replace(" ", "-")
    with fake.lock:
        items = [fake.store.add_product(f"{tag}-S{n:05}", stock_quantity=1) for n in range(simple)]
        for p in range(parents):
            parent = fake.store.add_variable_product(f"{tag}-P{p:03}", [
                {"sku": f"{tag}-P{p:03}-{v:03}", "stock_quantity": 1} for v in range(per_parent)])
            items += fake.store.variations_of(parent["id"])
    location = Location.objects.get(merchant=merchant, is_default=True)
    products = Product.objects.bulk_create([Product(merchant=merchant, sku=i["sku"], title=i["sku"]) for i in items],
                                           batch_size=2000)
    StockLevel.objects.bulk_create([StockLevel(merchant=merchant, product=p, location=location, on_hand=stock)
                                    for p in products], batch_size=2000)
    integration = Integration.objects.create(
        merchant=merchant, channel="woocommerce", name=name, account_ref=fake.base_url,
        credentials={"store_url": fake.base_url, "consumer_key": key.consumer_key,
                     "consumer_secret": key.consumer_secret},
        settings={"backfill_days": 60})
    now = timezone.now()
    Listing.objects.bulk_create([
        Listing(merchant=merchant, integration=integration, external_id=str(i["id"]), channel_ref=str(i["id"]),
                sku=i["sku"], product=p, channel_quantity=1, created_at=now,
                channel_data={"type": i["type"], "manage_stock": True,
                              **({"parent_id": i["parent_id"]} if i["type"] == "variation" else {})})
        for i, p in zip(items, products, strict=True)], batch_size=2000)
    return integration, products


def bench_push(fake, *, skus: int, parents: int) -> dict:
    from accounts.tenancy import tenant_scope
    from integrations.sync import stock_push
    from inventory.services import availability_mark

    merchant = new_merchant("Woo push bench")
    per_parent = (skus // 2) // parents
    simple = skus - per_parent * parents
    with tenant_scope(merchant):
        _, products = store(fake, merchant, simple=simple, parents=parents, per_parent=per_parent, stock=7,
                            name="Woo push bench")
        availability_mark(merchant=merchant, product_ids=[p.pk for p in products])
        before = len(fake.calls(method="POST"))
        start = time.perf_counter()
        result = stock_push(merchant=merchant, limit=len(products) + 10)
        seconds = time.perf_counter() - start
    batches = [c for c in fake.calls(method="POST")[before:] if c.path.endswith("/batch")]
    minimum = -(-simple // 100) + parents * -(-per_parent // 100)
    return {"skus": len(products), "simple": simple, "parents": parents, "variations": per_parent * parents,
            "calls": len(batches), "minimum": minimum, "pushed": result["pushed"], "failed": result["failed"],
            "seconds": seconds}


def bench_backfill(fake, *, n: int) -> dict:
    from accounts.tenancy import tenant_scope
    from integrations.sync import integration_poll
    from integrations.sync.common import ChannelSession
    from inventory.models import Location, Product, StockLevel
    from orders.services import order_ingest

    merchant = new_merchant("Woo backfill bench")
    with tenant_scope(merchant):
        integration, _ = store(fake, merchant, simple=20, parents=5, per_parent=4, stock=10**6, name="Woo backfill")
        sellable = [p for p in fake.store.products.values()
                    if p["type"] != "variable" and p["sku"].startswith("woo-backfill")]
        start_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=5)
        with fake.lock:
            for i in range(n):
                at = start_at + timedelta(seconds=30 * i)
                fake.store.add_order([(sellable[i % len(sellable)], 1), (sellable[(i * 7 + 3) % len(sellable)], 2)],
                                     created_gmt=at, modified_gmt=at)
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
    other = new_merchant("Woo ingest bench")
    with tenant_scope(other):
        location = Location.objects.get(merchant=other, is_default=True)
        products = Product.objects.bulk_create([Product(merchant=other, sku=p["sku"], title=p["sku"])
                                                for p in sellable])
        StockLevel.objects.bulk_create([StockLevel(merchant=other, product=p, location=location, on_hand=10**6)
                                        for p in products])
        hold_debounced_push(other)
        start = time.perf_counter()
        for order in normalized:
            # as the engine's backfill does: orders placed before the store was connected send no email
            order_ingest(merchant=other, integration_id=None, normalized=order, notify=False)
        ingest_s = time.perf_counter() - start
    return {"orders": n, "fetched": len(normalized), "engine_s": engine_s, "engine_per_s": n / engine_s,
            "ingest_s": ingest_s, "ingest_per_s": len(normalized) / ingest_s}


def markdown(out: dict) -> str:
    lines = ["## WooCommerce (sync engine against the WooCommerce fake)", "",
             f"{out['machine']}; {out['date']}{' (quick sizes)' if out['quick'] else ''}. "
             "`bench/woocommerce_bench.py`.", ""]
    p = out["push"]
    lines += [f"- Push {p['skus']:,} changed SKUs ({p['simple']:,} simple, {p['variations']:,} variations across "
              f"{p['parents']} parents): **{p['calls']} batch calls** (minimum {p['minimum']} at 100 objects per "
              f"call for that grouping), {p['pushed']:,} pushed, {p['failed']} failed, {p['seconds']:.1f} s."]
    b = out["backfill"]
    lines += [f"- Backfill {b['orders']:,} orders from the fake: **{b['engine_per_s']:.0f} orders/s** through the "
              f"engine ({b['engine_s']:.1f} s) beside {b['ingest_per_s']:.0f} orders/s for order_ingest alone "
              f"({b['ingest_s']:.1f} s) on the same orders."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--smoke", action="store_true",
                        help="CI (make bench-smoke): tiny sizes, a few seconds; proves the benchmark runs, measures nothing")
    parser.add_argument("--database-url", default=os.environ.get("WOOCOMMERCE_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()
    os.environ.setdefault("CHANNEL_HTTP_BACKOFF_BASE", "0.05")
    setup_django(args.database_url)

    from tests.fakes.woocommerce import WooCommerceFake

    out = {"machine": machine(), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick}
    print(out["machine"], out["date"], flush=True)
    with WooCommerceFake() as fake:
        skus, parents = (40, 2) if args.smoke else (1000, 20) if args.quick else (10_000, 200)
        out["push"] = bench_push(fake, skus=skus, parents=parents)
        print(f"push: {out['push']}", flush=True)
        out["backfill"] = bench_backfill(fake, n=20 if args.smoke else 200 if args.quick else 1000)
        print(f"backfill: {out['backfill']}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    print("\n" + markdown(out))


if __name__ == "__main__":
    main()
