"""Amazon benchmark: the Amazon package against the Amazon fake (tests/fakes/amazon), adapter level.

    .venv/bin/python bench/amazon_bench.py [--quick | --smoke] [--database-url postgres://...] [--json out.json]

1. Push N changed SKUs (10,000): SP-API calls made (one JSON_LISTINGS_FEED: createFeedDocument, the upload,
   createFeed, getFeed until DONE, getFeedDocument, the report download) beside the patch route's N calls
   (patchListingsItem at 5/s = N/5 s), and our time until the processing report confirms them. The fake
   processes a feed on its second getFeed; Amazon's own processing time (minutes) is not in the figure.
   Then the same with every SKU listed in two marketplaces (one feed per marketplace).
2. LWA exchanges per 1,000 SP-API calls: two clients of one seller in four threads sharing the Redis token
   cache (REDIS_URL), with tokens that live 5 s so several expire during the run.
3. Backfill N orders by searchOrders (100 a page, each mapped): orders/s of our overhead (the fake's bucket
   scaled out of the way), beside the floor Amazon's real plan sets (burst 20 pages at once, then one page
   per 1/0.0056 s).
The database URL is accepted for bench/smoke.py's sake; nothing here writes to the database.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/switchboard_integrations_bench"
FEED_OPERATIONS = ("createFeedDocument", "createFeed", "getFeed", "getFeedDocument")


def _adapter(env: dict):
    from integrations.channels import adapter_for

    return adapter_for("amazon", env, budget_key="bench", on_credentials_changed=lambda c: None)


def _credentials(fake, markets: tuple[str, ...] = ("ATVPDKIKX0DER",)) -> dict:
    app = fake.add_app()
    seller = fake.add_seller(app, marketplace_ids=list(markets))
    return {"refresh_token": seller.refresh_token, "lwa_client_id": app.client_id,
            "lwa_client_secret": app.client_secret, "seller_id": seller.seller_id,
            "marketplace_ids": list(markets), "region": "na"}, seller


def bench_push(fake, *, skus: int, markets: tuple[str, ...] = ("ATVPDKIKX0DER",)) -> dict:
    """`markets`: every SKU listed in each (one feed per marketplace, the same quantity to each)."""
    from integrations.channels.base import QuantityPush

    credentials, seller = _credentials(fake, markets)
    for n in range(skus):
        fake.add_listing(seller, f"B-{n:05d}", quantity=1, marketplace_ids=list(markets))
    data = {"product_type": "HOME", "marketplace_id": markets[0], "marketplaces": dict.fromkeys(markets, "HOME")}
    items = [QuantityPush(listing_external_id=f"B-{n:05d}", channel_ref=f"B-{n:05d}", location_external_id="",
                          quantity=5, previous_quantity=None, channel_data=data)
             for n in range(skus)]
    adapter = _adapter(credentials)
    before = len(fake.calls())
    started = time.perf_counter()
    results = adapter.push_quantities(items)
    refs = [r.pending_ref for r in results]
    rounds = 0
    while any(refs):
        rounds += 1
        read = adapter.push_results([r for r in refs if r])
        pending = iter(read)
        refs = [next(pending).pending_ref if r else "" for r in refs]
    seconds = time.perf_counter() - started
    calls = fake.calls()[before:]
    sp_calls = len(calls)
    confirmed = sum(1 for n in range(skus)
                    if set(fake.listings[(seller.seller_id, f"B-{n:05d}")].quantities.values()) == {5})
    # The upload and the report download go to the document URLs (S3 on Amazon): two more requests per feed.
    feeds = len(markets)
    return {"skus": skus, "markets": feeds, "sp_api_calls": sp_calls, "http_requests": sp_calls + 2 * feeds,
            "minimum": 6 * feeds,
            "by_operation": {op: sum(1 for c in calls if c.operation == op) for op in FEED_OPERATIONS},
            "patch_route_calls": skus * feeds, "patch_route_seconds": skus * feeds / 5.0, "confirmed": confirmed,
            "read_rounds": rounds, "seconds": seconds}


def bench_tokens(fake, *, calls: int) -> dict:
    from integrations.channels.amazon.client import AmazonClient

    fake.token_lifetime = 5
    credentials, seller = _credentials(fake)
    fake.add_listing(seller, "T-1", quantity=1)
    before_exchanges = fake.token_exchanges()
    clients = [AmazonClient(seller_id=seller.seller_id, region="na", refresh_token=credentials["refresh_token"],
                            client_id=credentials["lwa_client_id"], client_secret=credentials["lwa_client_secret"])
               for _ in range(2)]
    per_thread = calls // 4
    started = time.perf_counter()

    def work(client) -> None:
        for _ in range(per_thread):
            client.search_listings("ATVPDKIKX0DER", None, page_size=1)

    threads = [threading.Thread(target=work, args=(clients[n % 2],)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = len(fake.calls("searchListingsItems", status=200))
    exchanges = fake.token_exchanges() - before_exchanges
    fake.token_lifetime = 3600
    return {"calls": made, "refused_403": len(fake.calls("searchListingsItems", status=403)),
            "exchanges": exchanges, "per_1000": exchanges * 1000 / max(1, made),
            "seconds": time.perf_counter() - started}


def bench_backfill(fake, *, orders: int) -> dict:
    from integrations.channels.amazon.client import USAGE_PLANS

    credentials, seller = _credentials(fake)
    for n in range(orders):
        fake.add_order(seller, [(f"S-{n % 50}", 1 + n % 3, "12.50"), ("S-LID", 1, "1.00")], shipping="3.00")
    adapter = _adapter(credentials)
    started = time.perf_counter()
    seen, cursor, pages = 0, None, 0
    while True:
        page = adapter.fetch_orders(None, cursor)
        seen += len(page.items)
        pages += 1
        if not (cursor := page.next_cursor):
            break
    seconds = time.perf_counter() - started
    rate, burst = USAGE_PLANS["searchOrders"]
    floor = max(0, pages - int(burst)) / rate
    return {"orders": seen, "pages": pages, "seconds": seconds, "per_s": seen / seconds,
            "amazon_floor_seconds": floor, "amazon_floor_per_s": (seen / floor) if floor else math.inf}


def markdown(out: dict) -> str:
    p, t, b = out["push"], out["tokens"], out["backfill"]
    floor = (f"{b['amazon_floor_seconds']:.0f} s ({b['amazon_floor_per_s']:.1f} orders/s)"
             if b["amazon_floor_seconds"] else "0 s (within the burst of 20 pages)")
    return "\n".join([
        "## Amazon (the package against the Amazon fake)", "",
        f"{out['machine']}; {out['date']}{' (quick sizes)' if out['quick'] else ''}. `bench/amazon_bench.py`.", "",
        f"- Push {p['skus']:,} changed SKUs: **{p['sp_api_calls']} SP-API calls** in one JSON_LISTINGS_FEED "
        f"({p['by_operation']}) plus the upload and the report download ({p['http_requests']} requests; minimum 6), "
        f"beside {p['patch_route_calls']:,} patchListingsItem calls ({p['patch_route_seconds']:.0f} s at 5/s). "
        f"{p['confirmed']:,} confirmed by the processing report after {p['seconds']:.1f} s of ours "
        f"(Amazon's processing time not included).",
        f"- The same {out['push_two']['skus']:,} SKUs each listed in two marketplaces: "
        f"**{out['push_two']['sp_api_calls']} SP-API calls** in one feed per marketplace "
        f"({out['push_two']['by_operation']}; {out['push_two']['http_requests']} requests, minimum "
        f"{out['push_two']['minimum']}), beside {out['push_two']['patch_route_calls']:,} patches; "
        f"{out['push_two']['confirmed']:,} confirmed in both after {out['push_two']['seconds']:.1f} s of ours.",
        f"- LWA exchanges: **{t['exchanges']} for {t['calls']:,} calls** ({t['per_1000']:.1f} per 1,000) across two "
        f"clients in four threads with 5-second tokens; {t['refused_403']} calls refused for an expired token.",
        f"- Backfill {b['orders']:,} orders ({b['pages']} pages): **{b['per_s']:.0f} orders/s** of our overhead "
        f"({b['seconds']:.1f} s) beside Amazon's floor at its default searchOrders plan: {floor}.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--smoke", action="store_true", help="CI (make bench-smoke): tiny sizes; measures nothing")
    parser.add_argument("--database-url", default=os.environ.get("INTEGRATIONS_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()
    os.environ.setdefault("CHANNEL_HTTP_BACKOFF_BASE", "0.05")
    setup_django(args.database_url)
    from django.conf import settings

    from tests.fakes.amazon import AmazonFake

    out = {"machine": f"{os.cpu_count()} CPUs (nproc)", "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
           "quick": args.quick or args.smoke}
    # The fake's buckets scaled out of the way: the figures are our overhead; Amazon's floor is computed.
    with AmazonFake(time_scale=1e6) as fake:
        settings.AMAZON_SPAPI_ENDPOINT = fake.base_url
        settings.AMAZON_LWA_TOKEN_URL = fake.lwa_url
        settings.AMAZON_SPAPI_RATE_SCALE = 1e6
        settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
        out["push"] = bench_push(fake, skus=20 if args.smoke else 1000 if args.quick else 10_000)
        print(f"push: {out['push']}", flush=True)
        out["push_two"] = bench_push(fake, skus=20 if args.smoke else 1000 if args.quick else 10_000,
                                     markets=("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"))
        print(f"push_two: {out['push_two']}", flush=True)
        out["tokens"] = bench_tokens(fake, calls=40 if args.smoke else 400 if args.quick else 1000)
        print(f"tokens: {out['tokens']}", flush=True)
        out["backfill"] = bench_backfill(fake, orders=150 if args.smoke else 1000 if args.quick else 5000)
        print(f"backfill: {out['backfill']}", flush=True)
        if fake.crashes:
            raise SystemExit(f"the Amazon fake reported: {fake.crashes[:3]}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    print("\n" + markdown(out))


if __name__ == "__main__":
    main()
