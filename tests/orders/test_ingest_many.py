"""order_ingest_many (a page of channel orders in one transaction) gives what order_ingest one by one gives.

The property test feeds generated sequences of pages (duplicates within a page, updates of orders created
earlier in the same page, stale updates, unknown and aliased SKUs, bundles, cancellations, awaiting
payment, scarce stock) to two fresh merchants with the same catalog: one ingests order by order, the other
page by page. Their databases must then be the same row for row (ids and timestamps aside).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tenancy import tenant_scope
from core.errors import ValidationFailed
from inventory import services as inventory_services
from inventory.models import Reservation, StockLevel, StockMovement
from notifications.models import NotificationLog
from orders import services
from orders.models import Order, OrderEvent, OrderLine, ShipmentLine
from tests.conftest import make_tenant
from tests.inventory.helpers import make_bundle, make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db

_seq = itertools.count()


def _catalog(m, stock: dict[str, int]) -> None:
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=stock["A-1"])
        b = make_product(m, "B-1", on_hand=stock["B-1"])
        c = make_product(m, "C-1", on_hand=stock["C-1"])
        make_bundle(m, "KIT", [(a, 1), (b, 2)])
        inventory_services.sku_alias_remember(merchant=m, sku="c-old", product=c)


LINE = st.tuples(st.sampled_from(["L1", "L2", "L3", ""]),
                 st.sampled_from(["A-1", "B-1", "C-1", "KIT", "C-OLD", "NOPE", "a-1"]),
                 st.integers(min_value=0, max_value=3))
ORDER = st.fixed_dictionaries({
    "id": st.sampled_from(["1", "2", "3", "4", "5"]),
    "lines": st.lists(LINE, min_size=1, max_size=3),
    "minutes": st.integers(min_value=0, max_value=4),
    "flag": st.sampled_from(["", "", "", "cancelled", "awaiting", "hold", "refunded", "shipped", "bad"]),
})
PAGES = st.lists(st.lists(ORDER, min_size=1, max_size=6), min_size=1, max_size=3)
STOCK = st.fixed_dictionaries({"A-1": st.integers(0, 4), "B-1": st.integers(0, 4), "C-1": st.integers(0, 3)})


def _normalized(spec: dict):
    lines, seen = [], set()
    for lid, sku, qty in spec["lines"]:
        if lid and lid in seen:
            continue  # a channel's line ids are unique within an order
        seen.add(lid)
        lines.append((lid, sku, qty))
    flag = spec["flag"]
    extra = {"awaiting_payment": flag == "awaiting", "channel_hold": flag == "hold", "is_refunded": flag == "refunded",
             "shipped_on_channel": flag == "shipped"}  # shipped there, with or without the stock here
    if flag == "bad":
        extra["total"] = -1  # refused: a negative total
    return normalized(spec["id"], lines=tuple(lines), updated_minutes=spec["minutes"],
                      cancelled=flag == "cancelled", **extra)


def _outcome(result) -> str:
    return f"refused:{result.code}" if isinstance(result, ValidationFailed) else result.outcome


def _one_by_one(m, pages) -> list[str]:
    out = []
    for page in pages:
        for n in page:
            try:
                out.append(_outcome(services.order_ingest(merchant=m, integration_id=None, normalized=n)))
            except ValidationFailed as exc:
                out.append(_outcome(exc))
    return out


def _by_page(m, pages) -> list[str]:
    return [_outcome(r) for page in pages
            for r in services.order_ingest_many(merchant=m, integration_id=None, orders=page)]


def state(m) -> dict:
    """The merchant's orders, lines, shipments, timeline, stock, ledger, reservations and emails, ids and times aside:
    references name the line by its order's external id and position instead of its id."""
    line_key = {f"order_line:{li.pk}": f"{li.order.external_id}/{li.position}/{li.external_id}"
                for li in OrderLine.objects.filter(merchant=m).select_related("order")}
    orders = sorted(
        (o.external_id, o.status, o.hold_reason, o.is_short, o.went_short_at is not None, o.needs_attention,
         o.cancelled_at is not None, o.payload_fingerprint, o.number, str(o.total_amount), o.channel_updated_at)
        for o in Order.objects.filter(merchant=m))
    lines = sorted(
        (li.order.external_id, li.position, li.external_id, li.sku, li.product.sku if li.product else None,
         li.quantity, li.quantity_reserved, li.quantity_fulfilled, li.quantity_cancelled, str(li.unit_price_amount))
        for li in OrderLine.objects.filter(merchant=m).select_related("order", "product"))
    events = Counter(  # a shipment is named by its id, which differs between the two merchants
        (e.order.external_id, e.kind, re.sub(r"Shipment \d+", "Shipment N", e.message))
        for e in OrderEvent.objects.filter(merchant=m).select_related("order"))
    levels = sorted((lv.product.sku, lv.on_hand, lv.reserved)
                    for lv in StockLevel.objects.filter(merchant=m).select_related("product"))
    ledger = Counter((mv.product.sku, mv.on_hand_delta, mv.reserved_delta, mv.reason,
                      line_key.get(mv.reference, mv.reference if not mv.reference.startswith("order_line:") else "?"))
                     for mv in StockMovement.objects.filter(merchant=m).select_related("product"))
    held = sorted((line_key.get(r.reference, "?"), r.product.sku, r.unit_product.sku, r.per_unit, r.quantity)
                  for r in Reservation.objects.filter(merchant=m).select_related("product", "unit_product"))
    parcels = sorted(  # what each shipment holds, and how much of it never left stock here
        (sl.shipment.order.external_id, sl.shipment.status, sl.order_line.position, sl.quantity, sl.quantity_unstocked)
        for sl in ShipmentLine.objects.filter(merchant=m).select_related("shipment__order", "order_line"))
    order_numbers = {o.pk: o.external_id for o in Order.objects.filter(merchant=m)}
    mails = sorted((n.kind, order_numbers.get(int(n.reference.split(":")[1]), "?"), n.subject)
                   for n in NotificationLog.objects.filter(merchant=m, reference__startswith="order:"))
    return {"orders": orders, "lines": lines, "events": events, "levels": levels, "ledger": ledger,
            "reservations": held, "mails": mails, "parcels": parcels}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(pages=PAGES, stock=STOCK)
def test_a_page_at_a_time_equals_one_order_at_a_time(db, pages, stock):
    # Given two merchants with the same catalog (stock, a bundle, a remembered alias)
    n = next(_seq)
    one = make_tenant(f"one{n}@x.example", f"One {n}").merchant
    many = make_tenant(f"many{n}@x.example", f"Many {n}").merchant
    _catalog(one, stock)
    _catalog(many, stock)
    normalized_pages = [[_normalized(spec) for spec in page] for page in pages]
    # When one ingests every order by itself and the other page by page
    with tenant_scope(one):
        expected = _one_by_one(one, normalized_pages)
        expected_state = state(one)
    with tenant_scope(many):
        got = _by_page(many, normalized_pages)
        got_state = state(many)
    # Then every order had the same outcome and the databases say the same, row for row
    assert got == expected
    for table in expected_state:
        assert got_state[table] == expected_state[table], table
    call_command("inventory_audit", merchant=many.pk)


def test_a_page_costs_a_fixed_number_of_statements(merchant_a, django_assert_max_num_queries):
    # Given a stocked catalog and a warmed-up merchant
    m = merchant_a.merchant
    with tenant_scope(m):
        for sku in ("A-1", "B-1", "C-1"):
            make_product(m, sku, on_hand=1000)
        services.order_ingest(merchant=m, integration_id=None, normalized=normalized("warm"))
        page = [normalized(f"p{i}", lines=(("L1", "A-1", 1), ("L2", "B-1", 2), ("L3", "C-1", 1)))
                for i in range(50)]
        # When a page of 50 new 3-line orders arrives: lookup, SKU match, the new ids, orders, the levels' lock,
        # the stock write, the lines with what they hold and the timeline, the email settings, the emails (9),
        # and the page's savepoint (2: the test runs in a transaction)
        with django_assert_max_num_queries(11):
            results = services.order_ingest_many(merchant=m, integration_id=None, orders=page)
        # Then all are created and reserved, each emailed once
        assert [r.outcome for r in results] == ["created"] * 50
        assert sum(li.quantity_reserved for li in OrderLine.objects.filter(merchant=m, order__external_id__startswith="p")) == 200
        assert NotificationLog.objects.filter(merchant=m, kind="new_order").count() == 51
        # And the same page again is 50 times "unchanged", in one statement (and the savepoint)
        with django_assert_max_num_queries(3):
            again = services.order_ingest_many(merchant=m, integration_id=None, orders=page)
        assert [r.outcome for r in again] == ["unchanged"] * 50


def test_a_bad_order_in_a_page_is_refused_alone(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=10)
        page = [normalized("1"), normalized("2", total=-5), normalized("3")]
        results = services.order_ingest_many(merchant=m, integration_id=None, orders=page)
        assert [_outcome(r) for r in results] == ["created", "refused:negative_total", "created"]
        assert sorted(Order.objects.filter(merchant=m).values_list("external_id", flat=True)) == ["1", "3"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_ingesting_overlapping_pages_neither_deadlock_nor_fail(merchant_a):
    # Given products with little stock, and two workers with pages that share orders and SKUs
    m = merchant_a.merchant
    skus = [f"S-{i}" for i in range(6)]
    with tenant_scope(m):
        for sku in skus:
            make_product(m, sku, on_hand=20)

    def page(worker: int, k: int):
        return [normalized(f"{(k * 7 + i) % 30}", lines=tuple(
            (f"L{j}", skus[(i + j * (worker + 1) + k) % 6], 1 + (i + j) % 2) for j in range(3)),
            updated_minutes=(k + worker) % 3) for i in range(12)]

    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker(w: int) -> None:
        try:
            with tenant_scope(m):
                barrier.wait()
                for k in range(6):
                    results = services.order_ingest_many(merchant=m, integration_id=None,
                                                         orders=page(w, k)[::1 if w else -1])
                    assert all(not isinstance(r, ValidationFailed) for r in results)
        except BaseException as exc:  # noqa: BLE001 (reported to the test thread)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(w,)) for w in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    # Then neither failed, every order exists once, and the ledger still proves every level
    assert not errors, errors
    with tenant_scope(m):
        assert Order.objects.filter(merchant=m).count() == len({o.external_id for w in (0, 1) for k in range(6)
                                                                 for o in page(w, k)})
        for line in OrderLine.objects.filter(merchant=m):
            assert line.quantity_reserved == sum(Reservation.objects.filter(
                merchant=m, reference=line.reference).values_list("quantity", flat=True))
    call_command("inventory_audit", merchant=m.pk)
    assert connection.vendor == "postgresql"



def test_a_page_that_meets_a_conflict_falls_back_to_halves_without_losing_or_doubling(merchant_a, monkeypatch):
    # Given a page whose first attempt fails as a concurrent creation of one of its orders would (unique key)
    from django.db import IntegrityError

    from orders.services import ingest

    m = merchant_a.merchant
    real, calls = ingest._page, []

    def page_once_refused(merchant, integration_id, items, *args):
        calls.append(len(items))
        if len(calls) == 1:
            with transaction.atomic():  # written, then undone by the failure, as the page's transaction would be
                real(merchant, integration_id, items, *args)
                raise IntegrityError("duplicate key value violates unique constraint")
        return real(merchant, integration_id, items, *args)

    monkeypatch.setattr(ingest, "_page", page_once_refused)
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        page = [normalized(str(i), lines=(("L1", "A-1", 1),)) for i in range(4)] + [normalized("0", updated_minutes=1)]
        # When it is ingested
        results = services.order_ingest_many(merchant=m, integration_id=None, orders=page)
        # Then it was retried in halves, every order is there once, and stock was reserved once per order
        assert calls == [5, 2, 3]
        assert [r.outcome for r in results] == ["created"] * 4 + ["updated"]
        assert Order.objects.filter(merchant=m).count() == 4
        assert StockLevel.objects.get(merchant=m, product__sku="A-1").reserved == 5
    call_command("inventory_audit", merchant=m.pk)
