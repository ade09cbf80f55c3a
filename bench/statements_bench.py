"""Statements benchmark (issue 19 item 2): how many SQL statements the hot write paths send, counted with
Django's CaptureQueriesContext, as production sends them inside each call's transaction (its BEGIN and COMMIT
aside; a nested service's SAVEPOINT and RELEASE counted; what runs after the commit, tasks that production
hands to Celery, not counted).

    .venv/bin/python bench/statements_bench.py [--quick | --smoke] [--database-url postgres://.../switchboard_statements_bench]

1. A new 3-line channel order through orders.services.order_ingest (every line matched and reserved).
2. A reservation: inventory.services.stock_reserve of one unit under a new reference.
3. A shipment of everything left on an order of 1 line and of 8 lines (orders.services.order_fulfill_all), and
   a pending parcel of 1 and of 8 lines marked shipped (shipment_mark_shipped, as a bought label does).

Each is measured on a warmed-up merchant (its settings rows exist, a first order has been taken), `--rounds`
times; the counts are deterministic, so the table gives the smallest and largest count seen and the kinds of
statement in the last round. Nothing here is timed. The ledger check (inventory_audit) runs at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/switchboard_statements_bench"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
GOALS = {"order_ingest": 10, "reservation": 4}  # issue 19 item 2; shipping: the same for 1 line and 8


def _kind(sql: str) -> str:
    word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
    return "FOR UPDATE" if word == "SELECT" and "FOR UPDATE" in sql.upper() else word


def counted(fn: Callable[[], object]) -> tuple[int, Counter]:
    """Run fn and return (statements its transaction sent, Counter of their kinds).

    fn runs inside an outer atomic block so that what it leaves for after the commit (tasks, which production
    hands to Celery and this process would run eagerly) is not counted; the SAVEPOINT and RELEASE that block
    turns fn's own transaction into are dropped, so the count is production's (its BEGIN and COMMIT aside)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        fn()
    sqls = [q["sql"] for q in ctx.captured_queries]
    if sqls and sqls[0].startswith("SAVEPOINT") and sqls[-1].startswith("RELEASE SAVEPOINT"):
        sqls = sqls[1:-1]
    return len(sqls), Counter(_kind(sql) for sql in sqls)


def order(external_id: str, skus: list[str], quantity: int = 1):
    from orders.normalized import NormalizedAddress, NormalizedLine, NormalizedOrder

    lines = tuple(NormalizedLine(external_id=f"{external_id}-{k}", sku=sku, quantity=quantity,
                                 unit_price=Decimal("9.50"), title=f"Item {sku}") for k, sku in enumerate(skus))
    total = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    return NormalizedOrder(
        channel="shopify", external_id=external_id, number=f"#{external_id}", placed_at=T0, channel_updated_at=T0,
        lines=lines, currency="USD", customer_name="Bench Buyer", customer_email="buyer@bench.example",
        shipping_address=NormalizedAddress(line1="1 Main St", city="Springfield", postal_code="12345", country="US"),
        subtotal=total, total=total, raw={"id": external_id},
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="CI (make bench-smoke): one round; proves the benchmark runs")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    rounds = 1 if args.smoke else 3 if args.quick else 10
    setup_django(args.database_url)

    from accounts.models import User
    from accounts.services import merchant_create
    from accounts.tenancy import tenant_scope
    from inventory import services as inventory_services
    from inventory.selectors import audit_differences
    from orders import services

    tag = uuid.uuid4().hex[:8]
    user = User.objects.create_user(f"bench-{tag}@bench.example", None)
    merchant = merchant_create(name=f"Bench {tag}", owner=user)
    results: dict[str, list[tuple[int, Counter]]] = {}

    def record(name: str, fn: Callable[[], object]) -> None:
        results.setdefault(name, []).append(counted(fn))

    with tenant_scope(merchant):
        skus = [f"ST-{i}" for i in range(8)]
        products = [inventory_services.product_create(merchant=merchant, sku=sku, title=sku) for sku in skus]
        inventory_services.stock_adjust_many(merchant=merchant, lines=[
            inventory_services.AdjustLine(product_id=p.pk, delta=10**6, reason="received") for p in products])
        warm = services.order_ingest(merchant=merchant, integration_id=None, normalized=order(f"warm-{tag}", skus[:3]))
        services.order_fulfill_all(merchant=merchant, order=warm.order)
        inventory_services.stock_reserve(merchant=merchant, requests=[
            inventory_services.ReserveRequest(product_id=products[0].pk, quantity=1, reference=f"bench:warm-{tag}")])
        for r in range(rounds):
            record("order_ingest: a new 3-line order",
                   lambda r=r: services.order_ingest(merchant=merchant, integration_id=None,
                                                     normalized=order(f"new-{tag}-{r}", skus[:3])))
            record("reservation: stock_reserve, one unit, new reference",
                   lambda r=r: inventory_services.stock_reserve(merchant=merchant, requests=[
                       inventory_services.ReserveRequest(product_id=products[r % 8].pk, quantity=1,
                                                         reference=f"bench:{tag}:{r}")]))
            for n in (1, 8):
                full = services.order_ingest(merchant=merchant, integration_id=None,
                                             normalized=order(f"ship{n}-{tag}-{r}", skus[:n], quantity=2)).order
                record(f"shipment of {n} line(s): order_fulfill_all",
                       lambda o=full: services.order_fulfill_all(merchant=merchant, order=o))
                parcel_order = services.order_ingest(merchant=merchant, integration_id=None,
                                                     normalized=order(f"lbl{n}-{tag}-{r}", skus[:n], quantity=2)).order
                parcel = services.shipment_create(merchant=merchant, order=parcel_order, ship=False, lines=[
                    services.ShipmentLineRequest(li.pk, 2) for li in parcel_order.lines.all()])
                record(f"shipment of {n} line(s): shipment_mark_shipped (a bought label)",
                       lambda s=parcel: services.shipment_mark_shipped(merchant=merchant, shipment=s, carrier="UPS",
                                                                       tracking_number="1Z999", service="Ground"))
        diffs = audit_differences(merchant=merchant)

    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"machine: {os.cpu_count()} CPUs, {mem:.0f} GiB RAM, PostgreSQL {pg}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"mode: {'smoke' if args.smoke else 'quick' if args.quick else 'full'}; {rounds} round(s) each")
    print("| path | statements (min–max) | goal | kinds (last round) |")
    print("|---|---:|---:|---|")
    for name, seen in results.items():
        counts = [c for c, _ in seen]
        goal = next((str(g) for key, g in GOALS.items() if name.startswith(key)), "same for 1 and 8 lines")
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(seen[-1][1].items(), key=lambda kv: (-kv[1], kv[0])))
        span = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}–{max(counts)}"
        print(f"| {name} | {span} | {goal} | {kinds} |")
    one = max(c for c, _ in results["shipment of 1 line(s): order_fulfill_all"])
    eight = max(c for c, _ in results["shipment of 8 line(s): order_fulfill_all"])
    print(f"shipping grows with lines: {'no' if eight <= one else f'yes ({one} → {eight})'}")
    print(f"ledger check (inventory_audit): {'clean' if not diffs else f'{len(diffs)} differing rows'}")
    return 1 if diffs or eight > one else 0


if __name__ == "__main__":
    sys.exit(main())
