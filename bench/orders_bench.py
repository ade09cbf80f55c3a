"""Orders benchmark: the ingest path and the list API, each beside a bare-SQL baseline in the same run.

    .venv/bin/python bench/orders_bench.py [--quick | --smoke] [--database-url postgres://.../switchboard_orders_bench]
        [--skip-ingest] [--skip-list]

1. Ingest: N orders of 3 lines (default 100,000) through the whole path, one client: normalize (a
   channel-shaped payload dict mapped to a NormalizedOrder, as an adapter would), then
   orders.services.order_ingest (upsert order + lines, match SKUs, reserve through
   inventory.services, timeline rows). Baseline: a bare `COPY` of the same order and line rows
   into the same tables (another merchant), in the same run. Reports orders/s and the ratio.
2. List API: M orders in one merchant (default 1,000,000) and K orders in each of 100 others
   (default 10,000), built with INSERT ... SELECT generate_series (indexes rebuilt after the load,
   as any bulk load does). GET /api/v1/orders/ through the full Django stack (token auth, tenant
   scope, selector, cursor pagination, serializers) for page 1 and for a page 10,000 deep
   (cursor built at row 500,000), plus filtered pages; each beside the bare keyset SQL of the same
   page (LIMIT 51), and beside OFFSET at the same depth to show what keyset pagination avoids.
   Prints EXPLAIN (ANALYZE, BUFFERS) of the page queries.
Prints medians and ratios (higher ratio = more overhead of the application over bare SQL).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/switchboard_orders_bench"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def new_merchant(name: str):
    from accounts.models import User
    from accounts.services import merchant_create

    user = User.objects.create_user(f"{name.lower().replace(' ', '-')}-{time.time_ns()}@bench.example", "x" * 16)
    return merchant_create(name=name, owner=user), user


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def column_defaults(model, given: tuple[str, ...]) -> dict[str, object]:
    """Each column of `model` (its primary key aside) that the bare-SQL baselines do not fill, with the
    model's default prepared for the database. The baselines write the rows the ORM would, so a NOT NULL
    column added later gets its default here instead of failing the COPY (as `requested_service` did,
    unnoticed, until CI ran `make bench-smoke`)."""
    from django.db import connection

    return {f.column: f.get_db_prep_save(f.get_default(), connection)
            for f in model._meta.concrete_fields if f.column not in given and not f.primary_key}


# --- 1. ingest ------------------------------------------------------------------------------------


def payload(i: int, skus: list[str]) -> dict:
    """A channel-shaped order payload (Shopify-like field names), what a webhook body decodes to."""
    lines = [{"id": f"{i}-{k}", "sku": skus[(i * 3 + k) % len(skus)], "quantity": 1 + (i + k) % 3,
              "price": f"{5 + (i + k) % 40}.50", "title": f"Item {(i * 3 + k) % len(skus)}"} for k in range(3)]
    total = sum(Decimal(li["price"]) * li["quantity"] for li in lines)
    stamp = (T0 + timedelta(seconds=i * 7)).isoformat()
    return {"id": 5_000_000 + i, "name": f"#{100_000 + i}", "created_at": stamp, "updated_at": stamp,
            "currency": "USD", "email": f"buyer{i}@example.com", "financial_status": "paid",
            "fulfillment_status": None, "cancelled_at": None, "subtotal_price": str(total), "total_price": str(total),
            "total_tax": "0.00", "customer": {"first_name": "Buyer", "last_name": str(i)},
            "shipping_address": {"address1": f"{i} Main St", "city": "Springfield", "zip": "12345", "country_code": "US"},
            "line_items": lines}


def normalize(p: dict):
    """What a channel adapter's mapping does: payload dict → NormalizedOrder."""
    from orders.normalized import NormalizedAddress, NormalizedLine, NormalizedOrder

    a = p["shipping_address"]
    return NormalizedOrder(
        channel="shopify", external_id=str(p["id"]), number=p["name"],
        placed_at=datetime.fromisoformat(p["created_at"]), channel_updated_at=datetime.fromisoformat(p["updated_at"]),
        lines=tuple(NormalizedLine(external_id=li["id"], sku=li["sku"], quantity=li["quantity"],
                                   unit_price=Decimal(li["price"]), title=li["title"]) for li in p["line_items"]),
        currency=p["currency"], customer_name=f"{p['customer']['first_name']} {p['customer']['last_name']}",
        customer_email=p["email"], shipping_address=NormalizedAddress(line1=a["address1"], city=a["city"],
                                                                      postal_code=a["zip"], country=a["country_code"]),
        subtotal=Decimal(p["subtotal_price"]), total=Decimal(p["total_price"]), tax=Decimal(p["total_tax"]),
        payment_status=p["financial_status"] or "", fulfillment_status=p["fulfillment_status"] or "",
        is_cancelled=p["cancelled_at"] is not None, raw=p,
    )


def bench_ingest(n: int, n_skus: int) -> dict:

    from accounts.tenancy import tenant_scope
    from inventory.models import Product, StockLevel
    from inventory.selectors import location_default
    from inventory.services import AdjustLine, stock_adjust_many
    from notifications.services import notification_settings_update
    from orders.models import Order, OrderLine
    from orders.services import order_ingest

    merchant, _ = new_merchant("Ingest bench")
    skus = [f"ING-{i:05d}" for i in range(n_skus)]
    with tenant_scope(merchant):
        # New-order emails are sent by a Celery worker in production; with eager tasks they would be
        # rendered and sent inside this loop, so the bench merchant takes the daily digest instead.
        notification_settings_update(merchant=merchant, new_order_mode="digest")
        loc = location_default(merchant=merchant)
        products = Product.objects.bulk_create([Product(merchant=merchant, sku=s, title=s) for s in skus], batch_size=5000)
        StockLevel.objects.bulk_create([StockLevel(merchant=merchant, product=p, location=loc) for p in products],
                                       batch_size=5000)
        stock_adjust_many(merchant=merchant, lines=[AdjustLine(product_id=p.pk, delta=10**6, reason="received")
                                                    for p in products])
    payloads = [payload(i, skus) for i in range(n)]
    print(f"ingest: {n:,} orders x 3 lines over {n_skus:,} SKUs ...", flush=True)
    start = time.perf_counter()
    with tenant_scope(merchant):
        for i, p in enumerate(payloads):
            order_ingest(merchant=merchant, integration_id=None, normalized=normalize(p))
            if i and i % 10000 == 0:
                print(f"  {i:,} in {time.perf_counter() - start:.0f}s", flush=True)
    service_s = time.perf_counter() - start
    with tenant_scope(merchant):
        assert Order.objects.filter(merchant=merchant).count() == n
        assert OrderLine.objects.filter(merchant=merchant).count() == 3 * n
        # A second delivery of the first 1,000: idempotent (measured separately, as the webhook retry path).
        start = time.perf_counter()
        repeat = min(1000, n)
        outcomes = {order_ingest(merchant=merchant, integration_id=None, normalized=normalize(p)).outcome
                    for p in payloads[:repeat]}
        repeat_s = time.perf_counter() - start
        assert outcomes == {"unchanged"}, outcomes

    copy_s = copy_baseline(payloads)
    return {"orders": n, "service_s": service_s, "service_per_s": n / service_s, "copy_s": copy_s,
            "copy_per_s": n / copy_s, "ratio": service_s / copy_s, "repeat_per_s": repeat / repeat_s}


def copy_baseline(payloads: list[dict]) -> float:
    """Baseline: COPY the same order and line rows (another merchant) in the same run; returns seconds."""
    from django.db import connection

    from orders.models import Order, OrderLine

    n = len(payloads)
    other, _ = new_merchant("Copy bench")
    with connection.cursor() as cur:
        cur.execute("SELECT nextval(pg_get_serial_sequence('orders_order', 'id'))")
        base = cur.fetchone()[0]
        cur.execute("SELECT setval(pg_get_serial_sequence('orders_order', 'id'), %s)", [base + n + 1])
    order_cols = ("id", "merchant_id", "integration_id", "channel", "external_id", "number", "status",
                  "channel_payment_status", "channel_fulfillment_status", "customer_name", "customer_email",
                  "shipping_address", "currency", "subtotal_amount", "shipping_amount", "tax_amount", "total_amount",
                  "placed_at", "channel_updated_at", "notes", "raw_payload", "payload_fingerprint", "is_short",
                  "needs_attention", "hold_reason", "created_at", "updated_at")
    line_cols = ("merchant_id", "order_id", "external_id", "sku", "title", "quantity", "unit_price_amount",
                 "quantity_fulfilled", "quantity_cancelled", "quantity_reserved", "position", "created_at", "updated_at")
    now = datetime.now(UTC)
    order_rest = column_defaults(Order, order_cols)
    line_rest = column_defaults(OrderLine, line_cols)
    order_rest_values, line_rest_values = tuple(order_rest.values()), tuple(line_rest.values())
    start = time.perf_counter()
    raw = connection.connection  # psycopg 3 connection under Django's
    with raw.cursor() as cur:
        with cur.copy(f"COPY orders_order ({', '.join([*order_cols, *order_rest])}) FROM STDIN") as copy:  # noqa: S608
            for i, p in enumerate(payloads):
                copy.write_row((base + 1 + i, other.pk, None, "shopify", str(p["id"]), p["name"], "unfulfilled", "paid", "",
                                f"Buyer {i}", p["email"], json.dumps(p["shipping_address"]), "USD", p["subtotal_price"],
                                "0", "0", p["total_price"], p["created_at"], p["updated_at"], "", json.dumps(p), "",
                                False, False, "", now, now, *order_rest_values))
        with cur.copy(f"COPY orders_orderline ({', '.join([*line_cols, *line_rest])}) FROM STDIN") as copy:  # noqa: S608
            for i, p in enumerate(payloads):
                for k, li in enumerate(p["line_items"]):
                    copy.write_row((other.pk, base + 1 + i, li["id"], li["sku"], li["title"], li["quantity"], li["price"],
                                    0, 0, 0, k, now, now, *line_rest_values))
    raw.commit()
    return time.perf_counter() - start


# --- 2. list API -----------------------------------------------------------------------------------

# Indexes that no constraint owns (primary keys and unique constraints stay in place during the load).
ORDER_INDEXES_SQL = """
    SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    WHERE t.relname = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
"""


def bulk_orders(merchant_ids_counts: list[tuple[int, int]]) -> None:
    """Load orders (one line each, tags on 1 in 10) with INSERT ... SELECT, indexes rebuilt after."""
    from django.db import connection

    from orders.models import Order

    with connection.cursor() as cur:
        saved = {}
        for table in ("orders_order", "orders_orderline", "orders_ordertag"):
            cur.execute(ORDER_INDEXES_SQL, [table])
            saved[table] = cur.fetchall()
            for name, _ in saved[table]:
                cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        # unique constraints are indexes too, but backed by constraints: keep them (they are cheap here)
        rest = column_defaults(Order, ("id", "merchant_id", "integration_id", "channel", "external_id", "number",
                                       "status", "channel_payment_status", "channel_fulfillment_status",
                                       "customer_name", "customer_email", "shipping_address", "currency",
                                       "subtotal_amount", "shipping_amount", "tax_amount", "total_amount", "placed_at",
                                       "channel_updated_at", "notes", "raw_payload", "payload_fingerprint", "is_short",
                                       "needs_attention", "hold_reason", "created_at", "updated_at"))
        rest_columns = "".join(f", {column}" for column in rest)
        rest_values = "".join(f", %(rest_{column})s" for column in rest)
        for merchant_id, count in merchant_ids_counts:
            cur.execute(f"""
                INSERT INTO orders_order (merchant_id, integration_id, channel, external_id, number, status,
                    channel_payment_status, channel_fulfillment_status, customer_name, customer_email, shipping_address,
                    currency, subtotal_amount, shipping_amount, tax_amount, total_amount, placed_at,
                    channel_updated_at, notes, raw_payload, payload_fingerprint, is_short, needs_attention,
                    hold_reason, created_at, updated_at{rest_columns})
                SELECT %(m)s, NULL, (ARRAY['shopify','woocommerce','amazon','manual'])[1 + g %% 4],
                    'x' || g, '#' || (100000 + g),
                    (ARRAY['unfulfilled','fulfilled','fulfilled','fulfilled','partially_fulfilled','cancelled',
                           'on_hold','fulfilled'])[1 + g %% 8],
                    'paid', '', 'Customer ' || (g %% 50000), 'buyer' || g || '@example.com',
                    jsonb_build_object('city', 'City ' || (g %% 2000), 'postal_code', lpad((g %% 99999)::text, 5, '0'),
                                       'country', 'US'), 'USD',
                    10 + g %% 90, 0, 0, 10 + g %% 90,
                    %(t0)s::timestamptz + (g * interval '13 seconds'), NULL, '', '{{}}'::jsonb, '',
                    g %% 97 = 0, g %% 89 = 0, '', now(), now(){rest_values}
                FROM generate_series(1, %(n)s) AS g
            """, {"m": merchant_id, "n": count, "t0": T0, **{f"rest_{c}": v for c, v in rest.items()}})  # noqa: S608
            cur.execute("""
                INSERT INTO orders_orderline (merchant_id, order_id, external_id, sku, title, quantity, unit_price_amount,
                    quantity_fulfilled, quantity_cancelled, quantity_reserved, position, created_at, updated_at)
                SELECT merchant_id, id, '', 'SKU-' || (id %% 5000), 'Product ' || (id %% 5000) || ' widget', 1 + id %% 3, 9.50, 0, 0, 0, 0, now(), now()
                FROM orders_order WHERE merchant_id = %(m)s
            """, {"m": merchant_id})
            cur.execute("""
                INSERT INTO orders_ordertag (merchant_id, order_id, name)
                SELECT merchant_id, id, (ARRAY['vip','wholesale','gift'])[1 + id %% 3]
                FROM orders_order WHERE merchant_id = %(m)s AND id %% 10 = 0
            """, {"m": merchant_id})
        for indexes in saved.values():
            for _, definition in indexes:
                cur.execute(definition)
        for table in saved:
            cur.execute(f"ANALYZE {table}")


def drf_cursor(position: str) -> str:
    """The cursor DRF's CursorPagination would hand out for the page after `position`."""
    return base64.b64encode(urlencode({"p": position}).encode()).decode()


def time_get(client, url: str, rounds: int) -> tuple[float, dict]:
    samples, body = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        r = client.get(url)
        samples.append(time.perf_counter() - start)
        assert r.status_code == 200, (url, r.status_code, r.content[:300])
        body = r.json()
    return median_ms(samples), body


def time_sql(sql: str, params: list, rounds: int) -> float:
    from django.db import connection

    samples = []
    with connection.cursor() as cur:
        for _ in range(rounds):
            start = time.perf_counter()
            cur.execute(sql, params)
            cur.fetchall()
            samples.append(time.perf_counter() - start)
    return median_ms(samples)


def explain(sql: str, params: list) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + sql, params)
        return "\n".join(r[0] for r in cur.fetchall())


def loaded_list_merchant(big: int):
    """A "List bench" merchant an earlier run loaded with `big` orders (--reuse), and its owner, or None."""
    from django.db import connection
    from django_scopes import scopes_disabled

    from accounts.models import Membership, Merchant

    with connection.cursor() as cur:
        cur.execute("SELECT m.id FROM accounts_merchant m WHERE m.name = 'List bench' AND "
                    "(SELECT count(*) FROM orders_order o WHERE o.merchant_id = m.id) = %s ORDER BY m.id DESC", [big])
        row = cur.fetchone()
    if row is None:
        return None
    merchant = Merchant.objects.get(pk=row[0])
    with scopes_disabled():
        return merchant, Membership.objects.filter(merchant=merchant).select_related("user").first().user


# The queue's search (orders.selectors.orders.search_condition), written out as PostgreSQL runs it for each of
# search_plan's three plans. "trigram": the ids of orders with a field containing the term (icontains) UNION the
# orders of lines whose SKU or title does, each side read from trigram GIN indexes (orders 0002, 0012).
_ORDER_LIKE = ("UPPER({o}number::text) LIKE UPPER(%s) OR UPPER({o}external_id::text) LIKE UPPER(%s) "
               "OR UPPER({o}customer_name::text) LIKE UPPER(%s) OR UPPER({o}customer_email::text) LIKE UPPER(%s) "
               "OR UPPER(({o}shipping_address ->> 'city')::text) LIKE UPPER(%s) "
               "OR UPPER(({o}shipping_address ->> 'postal_code')::text) LIKE UPPER(%s)")
_LINE_LIKE = "(UPPER(l.sku::text) LIKE UPPER(%s) OR UPPER(l.title::text) LIKE UPPER(%s))"
SEARCH_SQL = {
    "trigram": ("AND id IN (SELECT o.id FROM orders_order o WHERE o.merchant_id = %s AND (" + _ORDER_LIKE.format(o="o.")
                + ") UNION SELECT l.order_id FROM orders_orderline l WHERE l.merchant_id = %s AND " + _LINE_LIKE + ")"),
    # "walk": each order along the list's index tested (its fields, then EXISTS a matching line), LIMIT stops it
    # (a line as a scalar subquery, as the selector writes it: PostgreSQL may hash an EXISTS, reading every line)
    "walk": ("AND (" + _ORDER_LIKE.format(o="") + " OR (SELECT l.id FROM orders_orderline l WHERE l.merchant_id = "
             "%s AND l.order_id = orders_order.id AND " + _LINE_LIKE + " LIMIT 1) IS NOT NULL)"),
    # "window": a rare term under 3 characters, walked among the newest SHORT_TERM_WINDOW orders only
    "window": ("AND placed_at >= (SELECT placed_at FROM orders_order WHERE merchant_id = %s ORDER BY placed_at DESC, "
               "id DESC OFFSET %s LIMIT 1) AND (" + _ORDER_LIKE.format(o="") + " OR (SELECT l.id FROM "
               "orders_orderline l WHERE l.merchant_id = %s AND l.order_id = orders_order.id AND " + _LINE_LIKE
               + " LIMIT 1) IS NOT NULL)"),
    # "email": a whole address, exactly, on orders_order_email_idx (merchant, lower(customer_email))
    "email": "AND LOWER(customer_email) = %s",
}
SEARCH_CASES = (  # (case name, term): selective terms of an order field and a line field, then the hard ones
    ("search=buyer123456@example.com (whole e-mail)", "buyer123456@example.com"),
    ("search=Customer 4242 (name)", "Customer 4242"),
    ("search=ity 1234 (partial city)", "ity 1234"),
    ("search=ku-4242 (partial SKU)", "ku-4242"),
    ("search=duct 4242 wid (partial title)", "duct 4242 wid"),
    ("search=widget (every order's title)", "widget"),
    ("search=example.com (every order's e-mail)", "example.com"),
    ("search=42 (short, common)", "42"),
    ("search=q (short, in no order)", "q"),
)


def search_case(name: str, term: str, merchant) -> tuple[str, str, str, list]:
    """A list case for the search `term`: the API's query and the bare SQL of the plan the selector picks."""
    from accounts.tenancy import tenant_scope
    from orders.selectors import SHORT_TERM_WINDOW, search_plan

    with tenant_scope(merchant):
        plan = search_plan(merchant=merchant, term=term)
    pattern = f"%{term}%"
    params = {"trigram": [merchant.pk, *[pattern] * 6, merchant.pk, *[pattern] * 2],
              "walk": [*[pattern] * 6, merchant.pk, *[pattern] * 2], "email": [term.lower()],
              "window": [merchant.pk, SHORT_TERM_WINDOW - 1, *[pattern] * 6, merchant.pk, *[pattern] * 2]}[plan]
    return f"{name}, plan {plan}", urlencode({"search": term}), SEARCH_SQL[plan], params


def bench_list(big: int, others: int, small: int, rounds: int, deep_page: int, reuse: bool = False,
               search_only: bool = False) -> dict:
    from django.db import connection
    from rest_framework.test import APIClient

    from accounts.services import api_token_create
    from accounts.tenancy import tenant_scope

    loaded = loaded_list_merchant(big) if reuse else None
    if loaded is not None:  # the 1,000,000-order load takes a quarter of an hour on a shared machine
        (merchant, user), load_s = loaded, 0.0
        print(f"list: reusing merchant {merchant.pk}'s {big:,} orders", flush=True)
    else:
        merchant, user = new_merchant("List bench")
        print(f"list: loading {big:,} orders + {others} x {small:,} ...", flush=True)
        start = time.perf_counter()
        other_ids = [new_merchant(f"Other {i}")[0].pk for i in range(others)]
        bulk_orders([(merchant.pk, big), *[(m, small) for m in other_ids]])
        load_s = time.perf_counter() - start
        print(f"  loaded in {load_s:.0f}s", flush=True)
    with tenant_scope(merchant):
        _, raw = api_token_create(merchant=merchant, user=user, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.get("/api/v1/orders/?page_size=1")  # warm-up (token last-used stamp, caches)

    page = 50
    depth = deep_page * page
    with connection.cursor() as cur:
        cur.execute("SELECT placed_at FROM orders_order WHERE merchant_id = %s ORDER BY placed_at DESC, id DESC "
                    "OFFSET %s LIMIT 1", [merchant.pk, depth - 1])
        deep_at = cur.fetchone()[0]
    keyset = ("SELECT * FROM orders_order WHERE merchant_id = %s {extra} ORDER BY placed_at DESC, id DESC LIMIT 51")
    results = {"big": big, "others": others, "small": small, "load_s": load_s, "deep_page": deep_page, "cases": []}
    cases = [
        ("page 1", "", "", []),
        (f"page {deep_page:,}", f"cursor={drf_cursor(str(deep_at))}", "AND placed_at < %s", [deep_at]),
        ("status=unfulfilled, page 1", "status=unfulfilled", "AND status = %s", ["unfulfilled"]),
        (f"status=unfulfilled, page {deep_page:,}", f"status=unfulfilled&cursor={drf_cursor(str(deep_at))}",
         "AND status = %s AND placed_at < %s", ["unfulfilled", deep_at]),
        ("channel=amazon, page 1", "channel=amazon", "AND channel = %s", ["amazon"]),
        ("short=true, page 1", "short=true", "AND is_short", []),
        ("sku=SKU-42, page 1", "sku=SKU-42",
         "AND EXISTS (SELECT 1 FROM orders_orderline l WHERE l.merchant_id = orders_order.merchant_id "
         "AND l.order_id = orders_order.id AND LOWER(l.sku) = %s)", ["sku-42"]),
        ("tag=vip, page 1", "tag=vip",
         "AND EXISTS (SELECT 1 FROM orders_ordertag t WHERE t.merchant_id = orders_order.merchant_id "
         "AND t.order_id = orders_order.id AND t.name = %s)", ["vip"]),
        *(search_case(name, term, merchant) for name, term in SEARCH_CASES),
    ]
    if search_only:  # the bare list's page 1 (the yardstick) and the search cases
        cases = [cases[0], *cases[-len(SEARCH_CASES):]]
    for name, query, extra, params in cases:
        api_ms, body = time_get(client, f"/api/v1/orders/?{query}", rounds)
        sql = keyset.format(extra=extra)
        sql_ms = time_sql(sql, [merchant.pk, *params], rounds)
        results["cases"].append({"case": name, "api_ms": api_ms, "sql_ms": sql_ms, "ratio": api_ms / sql_ms,
                                 "rows": len(body["results"]), "plan": explain(sql, [merchant.pk, *params])})
        print(f"  {name:40s} API {api_ms:8.2f} ms   bare keyset SQL {sql_ms:7.2f} ms   x{api_ms / sql_ms:.1f}",
              flush=True)
    for c in results["cases"]:  # against the bare list's page 1 through the API in the same run: is search flat?
        c["vs_page1"] = c["api_ms"] / results["cases"][0]["api_ms"]
    offset_sql = "SELECT * FROM orders_order WHERE merchant_id = %s ORDER BY placed_at DESC, id DESC OFFSET %s LIMIT 51"
    results["offset_ms"] = time_sql(offset_sql, [merchant.pk, depth], max(3, rounds // 4))
    results["offset_plan"] = explain(offset_sql, [merchant.pk, depth])
    print(f"  OFFSET {depth:,} (what keyset avoids): {results['offset_ms']:.1f} ms", flush=True)
    # the Django queryset of page 1 as the API runs it, for the record
    from orders.selectors import OrderFilters, order_list

    with tenant_scope(merchant):
        qs = order_list(merchant=merchant, filters=OrderFilters())[:51]
        results["django_sql"] = str(qs.query)
    return results


def machine() -> str:
    import platform

    from django.db import connection

    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    return f"{os.cpu_count()} CPUs (nproc), {mem_gb:.0f} GB RAM, PostgreSQL {pg}, Python {platform.python_version()}"


def markdown(out: dict) -> str:
    """The `## Orders` section of BENCHMARKS.md, from a run's results."""
    lines = ["## Orders", "", f"Machine: {out['machine']}. Date: {out['date']}. Script: `bench/orders_bench.py`"
             + (" --quick" if out.get("quick") else "") + " (one client process; dedicated database).", ""]
    if "ingest" in out:
        i = out["ingest"]
        lines += [
            f"### Ingest: {i['orders']:,} orders of 3 lines", "",
            "| path | orders/s | seconds | ratio |", "|---|---:|---:|---:|",
            f"| normalize + `order_ingest` (upsert, match SKUs, reserve via inventory, timeline) | "
            f"{i['service_per_s']:,.0f} | {i['service_s']:,.1f} | x{i['ratio']:,.0f} |",
            f"| bare `COPY` of the same order and line rows | {i['copy_per_s']:,.0f} | {i['copy_s']:,.1f} | 1 |",
            f"| re-delivery of 1,000 already-ingested orders (`unchanged`) | {i['repeat_per_s']:,.0f} | | |", "",
        ]
    if "list" in out:
        li = out["list"]
        lines += [
            f"### List API: {li['big']:,} orders in one merchant, {li['small']:,} in each of {li['others']} others", "",
            f"Data loaded with INSERT ... SELECT generate_series in {li['load_s']:.0f}s (one line per order, tags on"
            " 1 in 10). Median of the rounds; API = GET /api/v1/orders/ through the whole Django stack (token"
            " auth, tenant scope, selector, cursor pagination, serializers, 3 queries + auth); SQL = the bare"
            " keyset query of the same page (LIMIT 51).", "",
            "| page | API ms | bare SQL ms | ratio | rows | API ÷ page 1's |", "|---|---:|---:|---:|---:|---:|",
        ]
        for c in li["cases"]:
            lines.append(f"| {c['case']} | {c['api_ms']:.1f} | {c['sql_ms']:.2f} | x{c['ratio']:.0f} | {c['rows']} "
                         f"| x{c.get('vs_page1', 0):.1f} |")
        lines += ["", f"OFFSET at the same depth as page {li['deep_page']:,} (what keyset pagination avoids): "
                      f"{li['offset_ms']:.1f} ms for the SQL alone.", ""]
        for c in li["cases"]:
            lines += [f"EXPLAIN (ANALYZE, BUFFERS) {c['case']}:", "", "```", c["plan"], "```", ""]
        lines += ["EXPLAIN OFFSET at the same depth:", "", "```", li["offset_plan"], "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--smoke", action="store_true", help="CI (make bench-smoke): tiny sizes, a few seconds; proves the benchmark runs, measures nothing")
    parser.add_argument("--database-url", default=os.environ.get("ORDERS_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--reuse", action="store_true",
                        help="list: reuse the orders an earlier run loaded into this database, if it has as many")
    parser.add_argument("--search-only", action="store_true", help="list: page 1 and the search cases only")
    parser.add_argument("--json", help="write the results here as JSON")
    parser.add_argument("--report-from", help="print the BENCHMARKS.md section from a JSON file of a run, and stop")
    args = parser.parse_args()
    if args.report_from:
        print(markdown(json.loads(Path(args.report_from).read_text())))
        return
    setup_django(args.database_url)
    out = {"machine": machine(), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick}
    print(out["machine"], out["date"], flush=True)
    if not args.skip_ingest:
        n, n_skus = (100, 50) if args.smoke else (2_000, 500) if args.quick else (100_000, 10_000)
        out["ingest"] = bench_ingest(n=n, n_skus=n_skus)
        i = out["ingest"]
        print(f"ingest: service {i['service_per_s']:.0f} orders/s ({i['service_s']:.1f}s), "
              f"bare COPY {i['copy_per_s']:.0f} orders/s ({i['copy_s']:.1f}s), ratio x{i['ratio']:.0f}; "
              f"re-delivery (unchanged) {i['repeat_per_s']:.0f} orders/s", flush=True)
    if not args.skip_list:
        if args.smoke:
            out["list"] = bench_list(big=2_000, others=2, small=100, rounds=2, deep_page=10)
        elif args.quick:
            out["list"] = bench_list(big=20_000, others=10, small=1_000, rounds=5, deep_page=200, reuse=args.reuse,
                                     search_only=args.search_only)
        else:
            out["list"] = bench_list(big=1_000_000, others=100, small=10_000, rounds=21, deep_page=10_000,
                                     reuse=args.reuse, search_only=args.search_only)
        for c in out["list"]["cases"][:2]:
            print(f"\nEXPLAIN {c['case']}:\n{c['plan']}")
        print(f"\nEXPLAIN OFFSET:\n{out['list']['offset_plan']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    print("\n" + markdown(out))


if __name__ == "__main__":
    main()
