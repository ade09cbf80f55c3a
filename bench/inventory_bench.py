"""Inventory benchmark: the services against a bare SQL UPDATE done the same way, in the same run.

    .venv/bin/python bench/inventory_bench.py [--quick | --smoke] [--database-url postgres://.../switchboard_inventory_bench]
        [--redis-url redis://127.0.0.1:6379/4] [--skip-import] [--rounds N] [--per-client N]

1. Reservations per second, 8 concurrent clients, one reservation (one transaction) per call:
   a) one hot SKU, b) spread at random over 10,000 SKUs.
   Service: inventory.services.stock_reserve. Baseline: `UPDATE stocklevel SET reserved = reserved + 1
   WHERE id = %s AND on_hand - reserved >= 1` in its own transaction, same clients, same pattern.
2. CSV stock import of 100,000 rows (sku,location,delta). Service: preview (parse + validate against the
   catalog, what the upload does) and apply (parse again + stock_adjust_many in one transaction, what the
   apply button/job does). Baseline: csv.reader + one bare `UPDATE ... FROM unnest(skus, deltas)` joined
   on the SKU, in one transaction.
Prints medians over rounds and service/baseline ratios (higher ratio = more overhead).

Tasks as in production: the cache and the Celery broker are the Redis of `--redis-url` (give it a database of
its own: the benchmark empties its queues before and after), CELERY_TASK_ALWAYS_EAGER=0, no worker. What a
committed reservation schedules is therefore published, not run, and what that costs is inside the timed loop:
the availability outbox's `on_marked` hook (integrations' `stock_push_schedule`) is one Redis `SET NX` of the
merchant's debounce key per reservation, and a publish of the stock-push task only when that key was absent
(once per debounce window and merchant: here once per key lifetime, as no worker runs the push that clears
it; the count is printed). Until 2026-12-07 the benchmark ran Celery eagerly, so every reservation also ran a
whole stock push (take the marks, find listings, acknowledge: ~60% of a reservation's time in a profile)
inside the client's loop, a cost production pays once per debounce window on a worker, not per reservation.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import purge_queues, setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/switchboard_inventory_bench"


def make_catalog(merchant, n: int, prefix: str, on_hand: int) -> list[tuple[int, int]]:
    """n products with one level each at the default location; returns [(product_id, level_id)].

    Bulk-created for setup speed: levels start at zero, and the opening stock goes through the
    service (one stock_adjust_many) so the ledger reconciles.
    """
    from inventory.models import Product, StockLevel
    from inventory.selectors import location_default
    from inventory.services import AdjustLine, stock_adjust_many

    loc = location_default(merchant=merchant)
    products = Product.objects.bulk_create(
        [Product(merchant=merchant, sku=f"{prefix}-{i:06d}", title=f"Bench {i}") for i in range(n)], batch_size=5000
    )
    StockLevel.objects.bulk_create(
        [StockLevel(merchant=merchant, product=p, location=loc) for p in products], batch_size=5000
    )
    if on_hand:
        stock_adjust_many(merchant=merchant, lines=[AdjustLine(product_id=p.pk, delta=on_hand, reason="received")
                                                    for p in products])
    levels = dict(StockLevel.objects.filter(merchant=merchant, product__in=products).values_list("product_id", "pk"))
    return [(p.pk, levels[p.pk]) for p in products]


def _backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) a PostgreSQL backend has used, from /proc (same machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_clients(clients: int, per_client: int, fn, cpu: list | None = None) -> float:
    """Run fn(client, i) per_client times in each of `clients` processes; returns calls per second.

    Processes, not threads: 8 clients are 8 workers with their own connection, as in production,
    so the figure measures the database work and not one interpreter's lock. `cpu`: gets the CPU
    seconds per call of the clients and of their PostgreSQL backends (from /proc), as (client, backend),
    for figures that a loaded machine distorts less than a rate does.
    """
    import multiprocessing as mp

    from django.db import connections

    connections.close_all()  # children must not share the parent's socket
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(clients + 1)
    errors, used = ctx.Queue(), ctx.Queue()

    def worker(c: int) -> None:
        from django.db import connection

        try:
            random.seed(c * 7919 + time.time_ns())
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                backend = cur.fetchone()[0]
            barrier.wait()
            own, theirs = time.process_time(), _backend_cpu(backend)
            for i in range(per_client):
                fn(c, i)
            used.put((time.process_time() - own, _backend_cpu(backend) - theirs))
        except BaseException as exc:  # noqa: BLE001
            errors.put(repr(exc))
        finally:
            connection.close()

    procs = [ctx.Process(target=worker, args=(c,)) for c in range(clients)]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    if not errors.empty():
        raise RuntimeError(errors.get())
    if cpu is not None:
        spent = [used.get() for _ in procs]
        cpu.append((sum(s[0] for s in spent) / (clients * per_client), sum(s[1] for s in spent) / (clients * per_client)))
    return clients * per_client / elapsed


def bench_reservations(merchant, args, catalog_hot, catalog_spread, base_hot, base_spread) -> dict:
    from django.db import connection, transaction

    from accounts.tenancy import tenant_scope
    from inventory.models import StockLevel
    from inventory.services import ReserveRequest, stock_reserve

    table = StockLevel._meta.db_table
    run_id = uuid.uuid4().hex[:8]

    def service(products, *, in_transaction: bool = False):
        """stock_reserve on its own (autocommit: the one-statement road when it can), or inside a caller's
        transaction (as when a caller reserves among other writes: since 2026-12-08 the same statement under a
        savepoint when it can, else the transactional road)."""
        def call(c: int, i: int) -> None:
            pid, _ = products[0] if len(products) == 1 else random.choice(products)
            with tenant_scope(merchant), (transaction.atomic() if in_transaction else nullcontext()):
                got = stock_reserve(merchant=merchant,
                                    requests=[ReserveRequest(pid, 1, f"bench-{run_id}-{c}-{i}-{random.random()}")])
            assert sum(got.values()) == 1
        return call

    def baseline(levels, *, autocommit: bool = False):
        """The bare conditional UPDATE in its own transaction (BEGIN, UPDATE, COMMIT: the baseline since issue 2),
        or alone in autocommit (one round trip: the floor for a service that is one statement)."""
        def call(c: int, i: int) -> None:
            _, lid = levels[0] if len(levels) == 1 else random.choice(levels)
            with (nullcontext() if autocommit else transaction.atomic()), connection.cursor() as cur:
                cur.execute(f"UPDATE {table} SET reserved = reserved + 1 WHERE id = %s AND on_hand - reserved >= 1",  # noqa: S608
                            [lid])
                assert cur.rowcount == 1
        return call

    out, extra = {}, {}
    for label, svc, base in (("hot", catalog_hot, base_hot), ("spread", catalog_spread, base_spread)):
        s_rates, b_rates, s_cpu, b_cpu = [], [], [], []
        tx_rates, auto_rates = [], []
        for _ in range(args.rounds):
            # Interleave so drift on a shared machine hits both equally.
            b_rates.append(run_clients(args.clients, args.per_client, baseline(base), b_cpu))
            s_rates.append(run_clients(args.clients, args.per_client, service(svc), s_cpu))
            auto_rates.append(run_clients(args.clients, args.per_client, baseline(base, autocommit=True)))
            tx_rates.append(run_clients(args.clients, args.per_client, service(svc, in_transaction=True)))
        extra[label] = (statistics.median(tx_rates), statistics.median(auto_rates))
        out[label] = (statistics.median(s_rates), statistics.median(b_rates),
                      [statistics.median(x[k] for x in s_cpu) for k in (0, 1)],
                      [statistics.median(x[k] for x in b_cpu) for k in (0, 1)])
    out["variants"] = extra
    return out


def bench_import(merchant, args, catalog, base_catalog) -> dict:
    from django.db import connection, transaction

    from accounts.tenancy import tenant_scope
    from inventory.models import Product, StockLevel
    from inventory.services import import_preview, stock_adjust_many

    with tenant_scope(merchant):
        skus = list(Product.objects.filter(merchant=merchant, pk__in=[p for p, _ in catalog])
                    .order_by("pk").values_list("sku", flat=True))
        base_skus = list(Product.objects.filter(merchant=merchant, pk__in=[p for p, _ in base_catalog])
                         .order_by("pk").values_list("sku", flat=True))
    data = ("sku,location,delta\n" + "".join(f"{s},MAIN,{1 + (k % 7)}\n" for k, s in enumerate(skus))).encode()
    base_data = ("sku,location,delta\n" + "".join(f"{s},MAIN,{1 + (k % 7)}\n" for k, s in enumerate(base_skus))).encode()
    previews, applies, bases = [], [], []
    for _ in range(args.import_rounds):
        start = time.perf_counter()
        with tenant_scope(merchant):
            pv = import_preview.stock_preview(merchant=merchant, fileobj=io.BytesIO(data))
        previews.append(len(skus) / (time.perf_counter() - start))
        assert pv.error_count == 0 and pv.change_count == len(skus), pv.errors[:3]

        start = time.perf_counter()
        with tenant_scope(merchant):
            pv = import_preview.stock_preview(merchant=merchant, fileobj=io.BytesIO(data))
            stock_adjust_many(merchant=merchant, lines=pv.lines, reference="bench-import")
        applies.append(len(skus) / (time.perf_counter() - start))

        start = time.perf_counter()
        import csv

        rows = list(csv.reader(io.StringIO(base_data.decode())))[1:]
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"UPDATE {StockLevel._meta.db_table} AS s SET on_hand = s.on_hand + v.d "  # noqa: S608
                f"FROM unnest(%s::text[], %s::int[]) AS v(sku, d), {Product._meta.db_table} AS p "
                "WHERE p.merchant_id = %s AND lower(p.sku) = lower(v.sku) AND s.product_id = p.id "
                "AND s.merchant_id = p.merchant_id",
                [[r[0] for r in rows], [int(r[2]) for r in rows], merchant.pk],
            )
            assert cur.rowcount == len(rows)
        bases.append(len(rows) / (time.perf_counter() - start))
    return {"preview": statistics.median(previews), "apply": statistics.median(applies),
            "baseline": statistics.median(bases), "rows": len(skus)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="CI (make bench-smoke): tiny sizes, a few seconds; proves the benchmark runs, measures nothing")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/4",
                        help="cache and broker (a Redis database of its own: its queues are emptied)")
    parser.add_argument("--skip-import", action="store_true", help="reservations only")
    parser.add_argument("--rounds", type=int, help="reservation rounds (default 5)")
    parser.add_argument("--per-client", type=int, help="reservations per client and round (default 200)")
    args = parser.parse_args()
    args.clients = 4 if args.smoke else 8
    args.rounds = 1 if args.smoke else 2 if args.quick else 5
    args.per_client = 5 if args.smoke else 25 if args.quick else 200
    args.rounds = parser.parse_args().rounds or args.rounds
    args.per_client = parser.parse_args().per_client or args.per_client
    args.import_rows = 0 if args.skip_import else 200 if args.smoke else 5_000 if args.quick else 100_000
    args.import_rounds = 1 if args.quick or args.smoke else 3
    spread = 50 if args.smoke else 1_000 if args.quick else 10_000
    setup_django(args.database_url, redis_url=args.redis_url)
    purge_queues(args.redis_url)

    from accounts.models import User
    from accounts.services import merchant_create
    from accounts.tenancy import tenant_scope
    from inventory.selectors import audit_differences

    tag = uuid.uuid4().hex[:8]
    user = User.objects.create_user(f"bench-{tag}@bench.example", None)
    merchant = merchant_create(name=f"Bench {tag}", owner=user)
    big = 10**9
    with tenant_scope(merchant):
        hot = make_catalog(merchant, 1, "HOT", big)
        base_hot = make_catalog(merchant, 1, "BHOT", big)
        spread_catalog = make_catalog(merchant, spread, "SPR", big)
        base_spread = make_catalog(merchant, spread, "BSPR", big)
        import_catalog = make_catalog(merchant, args.import_rows, "IMP", 0)
        base_import = make_catalog(merchant, args.import_rows, "BIMP", 0)
    res = bench_reservations(merchant, args, hot, spread_catalog, base_hot, base_spread)
    published = purge_queues(args.redis_url)
    imp = bench_import(merchant, args, import_catalog, base_import) if args.import_rows else None
    # Baseline rows (SKUs starting with B) are changed behind the ledger on purpose; the service's must reconcile.
    with tenant_scope(merchant):
        diffs = [d for d in audit_differences(merchant=merchant) if not str(d.get("sku", "")).startswith("B")]
    from django.db import connection

    cur = connection.cursor()
    cur.execute("SHOW server_version")
    pg = cur.fetchone()[0]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"machine: {os.cpu_count()} CPUs, {mem:.0f} GiB RAM, PostgreSQL {pg}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"mode: {'smoke' if args.smoke else 'quick' if args.quick else 'full'}; {args.clients} clients × {args.per_client} reservations "
          f"× {args.rounds} rounds; spread over {spread:,} SKUs; import {imp['rows'] if imp else 0:,} rows × {args.import_rounds}")
    print("| measure | service (median) | bare SQL baseline (median) | baseline / service |")
    print("|---|---:|---:|---:|")
    for label in ("hot", "spread"):
        s, b, _, _ = res[label]
        name = "one hot SKU" if label == "hot" else f"spread over {spread:,} SKUs"
        print(f"| reservations/s, {args.clients} clients, {name} | {s:,.0f} | {b:,.0f} | {b / s:.1f}× |")
    for label in ("hot", "spread"):
        s, b, (sc, sb), (bc, bb) = res[label]
        print(f"reservations {label}: service at {s / b:.0%} of the bare UPDATE's rate; CPU per reservation "
              f"(median of rounds): service {1e3 * (sc + sb):.2f} ms (client {1e3 * sc:.2f} + backend {1e3 * sb:.2f}), "
              f"bare {1e3 * (bc + bb):.2f} ms (client {1e3 * bc:.2f} + backend {1e3 * bb:.2f})")
    for label in ("hot", "spread"):
        s, b, _, _ = res[label]
        tx, auto = res["variants"][label]
        print(f"reservations {label}, the other roads and floor (same rounds): inside a caller's transaction "
              f"{tx:,.0f}/s = {tx / b:.0%} of the bare UPDATE in its transaction; the bare UPDATE alone in "
              f"autocommit {auto:,.0f}/s, against which the service on its own is at {s / auto:.0%}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"tasks published to the broker during the reservations: {published}")
    if imp is None:
        print(f"ledger check on the service's products: {'clean' if not diffs else f'{len(diffs)} differing rows'}")
        if diffs:
            raise SystemExit(f"ledger check failed: {diffs[:5]}")
        return
    print(f"| CSV import preview rows/s ({imp['rows']:,} rows) | {imp['preview']:,.0f} | {imp['baseline']:,.0f} | "
          f"{imp['baseline'] / imp['preview']:.1f}× |")
    print(f"| CSV import apply rows/s ({imp['rows']:,} rows, parse + validate + apply) | {imp['apply']:,.0f} | "
          f"{imp['baseline']:,.0f} | {imp['baseline'] / imp['apply']:.1f}× |")
    print(f"ledger check on the service's products: {'clean' if not diffs else f'{len(diffs)} differing rows'}")
    if diffs:
        raise SystemExit(f"ledger check failed: {diffs[:5]}")


if __name__ == "__main__":
    main()
