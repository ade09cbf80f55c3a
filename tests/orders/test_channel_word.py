"""The channel's word on what happened outside Switchboard (shipped there, refunded after shipping) moves
stock in the order's one inventory call: one lock of its stock levels, in id order, never a second one after
ingest's own (two acquisitions lock in a different order than a concurrent order's single one: a deadlock).
And a parcel taken back here (its label voided) is folded into the one shipment of what is left."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tenancy import tenant_scope
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.models import StockMovement
from orders import services
from orders.models import OrderEvent, OrderStatus, Shipment, ShipmentLine
from orders.services.fulfillment import order_shipped_on_channel
from tests.inventory.helpers import make_product
from tests.orders.helpers import level, normalized

pytestmark = pytest.mark.django_db


def _level_locks(ctx) -> int:
    return sum(1 for q in ctx.captured_queries
               if "FOR UPDATE" in q["sql"] and "inventory_stocklevel" in q["sql"].split("FOR UPDATE")[0])


@pytest.fixture
def shop(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        products = {sku: make_product(m, sku, on_hand=10) for sku in ("A-1", "B-1")}
        yield m, products


def test_a_new_order_arriving_shipped_locks_its_stock_once_and_ships(shop):
    m, products = shop
    # When an order the channel already shipped arrives (not history: it is news)
    with CaptureQueriesContext(connection) as ctx:
        result = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "1", lines=(("L1", "A-1", 2), ("L2", "B-1", 1)), shipped_on_channel=True))
    # Then its levels were locked once, and its units left through inventory
    assert _level_locks(ctx) == 1
    assert result.order.status == OrderStatus.FULFILLED
    assert [(level(m, p).on_hand, level(m, p).reserved) for p in products.values()] == [(8, 0), (9, 0)]
    assert inventory_selectors.audit_differences(merchant=m) == []


def test_an_update_saying_shipped_with_a_changed_line_locks_once(shop):
    # Given an open order of two lines
    m, products = shop
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "1", lines=(("L1", "A-1", 2), ("L2", "B-1", 1))))
    # When the channel says it shipped, with B's quantity raised (ingest's own reconcile has work for B alone)
    with CaptureQueriesContext(connection) as ctx:
        result = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "1", lines=(("L1", "A-1", 2), ("L2", "B-1", 3)), shipped_on_channel=True, updated_minutes=1))
    # Then one lock, and every unit shipped
    assert _level_locks(ctx) == 1
    order = result.order
    assert order.status == OrderStatus.FULFILLED
    assert [(li.quantity_fulfilled, li.quantity_reserved) for li in order.lines.order_by("position")] == [(2, 0), (3, 0)]
    assert [(level(m, p).on_hand, level(m, p).reserved) for p in products.values()] == [(8, 0), (7, 0)]
    assert Shipment.objects.filter(order=order, status=Shipment.Status.SHIPPED).count() == 1
    assert inventory_selectors.audit_differences(merchant=m) == []


def test_a_refund_after_shipping_with_a_changed_line_locks_once(shop):
    # Given an order whose A line has shipped and whose B line is still reserved
    m, products = shop
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "1", lines=(("L1", "A-1", 2), ("L2", "B-1", 1)))).order
    line_a = order.lines.get(external_id="L1")
    services.shipment_create(merchant=m, order=order, lines=[services.ShipmentLineRequest(line_a.pk, 2)])
    # When the channel says it was refunded, with B's quantity raised in the same update
    with CaptureQueriesContext(connection) as ctx:
        result = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "1", lines=(("L1", "A-1", 2), ("L2", "B-1", 2)), is_refunded=True, updated_minutes=1))
    # Then one lock: it is returned (not restocked) and B's reservation is given back
    assert _level_locks(ctx) == 1
    assert result.order.status == OrderStatus.RETURNED
    assert [(level(m, p).on_hand, level(m, p).reserved) for p in products.values()] == [(8, 0), (10, 0)]
    assert inventory_selectors.audit_differences(merchant=m) == []


def test_a_parcel_taken_back_is_the_one_shipment_of_what_is_left_when_the_channel_says_shipped(shop):
    # Given an order of 3 A, 2 of them shipped with a label that was then voided (the parcel is pending again)
    m, products = shop
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "1", lines=(("L1", "A-1", 3),))).order
    line = order.lines.get()
    parcel = services.shipment_create(merchant=m, order=order, lines=[services.ShipmentLineRequest(line.pk, 2)],
                                      carrier="UPS", tracking_number="1Z1")
    services.shipment_unship(merchant=m, shipment=parcel, reason="label 1Z1 voided")

    # When the channel says the order shipped
    result = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "1", lines=(("L1", "A-1", 3),), shipped_on_channel=True, updated_minutes=1))

    # Then that parcel is the one shipment, of all 3, shipped on the channel's word; nothing is left pending
    assert result.order.status == OrderStatus.FULFILLED
    [shipment] = Shipment.objects.filter(order=order)
    assert (shipment.pk, shipment.status) == (parcel.pk, Shipment.Status.SHIPPED)
    assert list(ShipmentLine.objects.filter(shipment=shipment).values_list("order_line_id", "quantity")) == [(line.pk, 3)]
    line.refresh_from_db()
    assert (line.quantity_fulfilled, line.quantity_reserved) == (3, 0)
    assert (level(m, products["A-1"]).on_hand, level(m, products["A-1"]).reserved) == (7, 0)
    assert inventory_selectors.audit_differences(merchant=m) == []


def _short_events(order) -> list[tuple[str, dict]]:
    return [(e.message, e.data) for e in OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.SHORT)]


def test_an_order_arriving_shipped_beyond_our_stock_is_recorded_with_the_shortfall_on_its_timeline(shop):
    # Given 1 unit of S-1 here, and an order the channel already shipped with 3 of them
    m, products = shop
    s = make_product(m, "S-1", on_hand=1)
    # When it arrives
    result = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "1", lines=(("L1", "S-1", 3), ("L2", "A-1", 2)), shipped_on_channel=True))
    # Then it is recorded shipped as the channel says, the unit there is taken, and the 2 missing are on its timeline
    order = result.order
    assert (result.outcome, order.status) == ("created", OrderStatus.FULFILLED)
    line_s, line_a = order.lines.order_by("position")
    assert [(li.quantity_fulfilled, li.quantity_reserved) for li in (line_s, line_a)] == [(3, 0), (2, 0)]
    assert [(level(m, p).on_hand, level(m, p).reserved) for p in (s, products["A-1"])] == [(0, 0), (8, 0)]
    assert _short_events(order) == [(
        "Shipped on the channel beyond the stock here: 2 units of S-1 were not in stock (not taken from stock: "
        "check its count)", {"not_in_stock": [{"line": line_s.pk, "sku": "S-1", "units": 2}]})]
    [shipment] = Shipment.objects.filter(order=order)
    assert list(ShipmentLine.objects.filter(shipment=shipment).order_by("order_line_id")
                .values_list("order_line_id", "quantity")) == [(line_s.pk, 3), (line_a.pk, 2)]
    assert inventory_selectors.audit_differences(merchant=m) == []


def test_an_open_short_order_the_channel_then_ships_takes_what_it_holds_and_records_the_rest(shop):
    # Given an order of 3 S-1 that could reserve only the 1 here, and a second line held in full
    m, products = shop
    s = make_product(m, "S-1", on_hand=1)
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "1", lines=(("L1", "S-1", 3), ("L2", "A-1", 2))))
    # When the channel says it shipped
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "1", lines=(("L1", "S-1", 3), ("L2", "A-1", 2)), shipped_on_channel=True, updated_minutes=1)).order
    # Then its held unit left, the 2 it never had are on the timeline, and nothing stays reserved
    assert order.status == OrderStatus.FULFILLED and not order.is_short
    assert [(level(m, p).on_hand, level(m, p).reserved) for p in (s, products["A-1"])] == [(0, 0), (8, 0)]
    line_s = order.lines.get(external_id="L1")
    assert (line_s.quantity_fulfilled, line_s.quantity_reserved) == (3, 0)
    assert [data for _message, data in _short_events(order)][-1] == {
        "not_in_stock": [{"line": line_s.pk, "sku": "S-1", "units": 2}]}
    assert inventory_selectors.audit_differences(merchant=m) == []


def test_a_page_with_an_order_shipped_beyond_our_stock_is_ingested_whole(shop):
    # Given no S-1 here
    m, products = shop
    s = make_product(m, "S-1", on_hand=0)
    # When a page brings an order shipped on the channel with 2 of them between two ordinary orders
    outcomes = services.order_ingest_many(merchant=m, integration_id=None, orders=[
        normalized("1", lines=(("L1", "A-1", 1),)),
        normalized("2", lines=(("L1", "S-1", 2),), shipped_on_channel=True),
        normalized("3", lines=(("L1", "B-1", 1),)),
    ])
    # Then every order of the page is in, the shipped one fulfilled with nothing taken and its shortfall told
    assert [o.outcome for o in outcomes] == ["created", "created", "created"]
    shipped = outcomes[1].order
    assert shipped.status == OrderStatus.FULFILLED
    assert [d for _m, d in _short_events(shipped)] == [
        {"not_in_stock": [{"line": shipped.lines.get().pk, "sku": "S-1", "units": 2}]}]
    assert (level(m, s).on_hand, level(m, s).reserved) == (0, 0)
    assert [(level(m, p).on_hand, level(m, p).reserved) for p in products.values()] == [(10, 1), (10, 1)]
    assert inventory_selectors.audit_differences(merchant=m) == []


def test_order_shipped_on_channel_records_a_shortfall_instead_of_refusing(shop):
    # Given an order of 2 S-1 holding the 1 unit here
    m, _products = shop
    s = make_product(m, "S-1", on_hand=1)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "1", lines=(("L1", "S-1", 2),))).order
    # When the channel's word that it shipped is recorded
    shipment = order_shipped_on_channel(merchant=m, order=order)
    # Then the held unit left and the other one is on the timeline
    order.refresh_from_db()
    assert shipment is not None and order.status == OrderStatus.FULFILLED
    assert [d for _m, d in _short_events(order)][-1] == {
        "not_in_stock": [{"line": order.lines.get().pk, "sku": "S-1", "units": 1}]}
    assert (level(m, s).on_hand, level(m, s).reserved) == (0, 0)
    assert inventory_selectors.audit_differences(merchant=m) == []


def _shipped_beyond_stock(m):
    """An order of 5 S-1 the channel says shipped, with 2 here: 2 leave, 3 were never in stock."""
    s = make_product(m, "S-1", on_hand=2)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "1", lines=(("L1", "S-1", 5),), shipped_on_channel=True)).order
    assert (level(m, s).on_hand, level(m, s).reserved) == (0, 0)
    return s, order


def _ledger_of(m, line) -> list[tuple[int, str]]:
    return sorted(StockMovement.objects.filter(merchant=m, reference=line.reference)
                  .values_list("on_hand_delta", "reason"))


def test_a_shipment_beyond_our_stock_records_on_its_line_what_did_not_leave_stock(shop):
    # Given 2 S-1 here, when the channel says an order of 5 shipped
    m, _products = shop
    _s, order = _shipped_beyond_stock(m)
    # Then its shipment line holds the 5 shipped, 3 of which did not leave stock here
    [sl] = ShipmentLine.objects.filter(shipment__order=order)
    assert (sl.quantity, sl.quantity_unstocked) == (5, 3)
    assert inventory_selectors.audit_differences(merchant=m) == []


def test_unshipping_a_shipment_beyond_our_stock_gives_back_only_what_left_stock(shop):
    # Given an order of 5 S-1 shipped on the channel with 2 here (on hand 2 → 0, 3 never in stock)
    m, _products = shop
    s, order = _shipped_beyond_stock(m)
    [shipment] = Shipment.objects.filter(order=order)
    # When the merchant takes the shipment back
    services.shipment_unship(merchant=m, shipment=shipment, reason="label voided")
    # Then the 2 that left come back (held again for the line), never the 3 that were not here
    line = order.lines.get()
    assert (level(m, s).on_hand, level(m, s).reserved) == (2, 2)
    assert (line.quantity_fulfilled, line.quantity_reserved) == (0, 2)
    assert _ledger_of(m, line) == [(-2, "shipped"), (0, "reserved"), (2, "returned")]
    # and the pending parcel is 5 to ship from stock again, none of it short; the timeline says why
    [sl] = ShipmentLine.objects.filter(shipment=shipment)
    assert (sl.quantity, sl.quantity_unstocked) == (5, 0)
    event = OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.SHIPMENT).latest("id")
    assert event.message == (f"Shipment {shipment.pk} taken back before it left: label voided "
                             "(3 units of S-1 not put back on hand: they never left stock here)")
    assert event.data["not_in_stock"] == [{"line": line.pk, "sku": "S-1", "units": 3}]
    assert inventory_selectors.audit_differences(merchant=m) == []


def test_a_return_with_restock_of_a_shipment_beyond_our_stock_restocks_only_what_left_stock(shop):
    # Given an order of 5 S-1 shipped on the channel with 2 here
    m, _products = shop
    s, order = _shipped_beyond_stock(m)
    # When the merchant records it returned, restocked
    services.order_return(merchant=m, order=order, restock=True)
    # Then the 2 that left are back on hand, not 5
    line = order.lines.get()
    assert (level(m, s).on_hand, level(m, s).reserved) == (2, 0)
    assert _ledger_of(m, line) == [(-2, "shipped"), (2, "returned")]
    assert OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.RETURNED).message == (
        "Returned and restocked (3 units of S-1 not restocked: they never left stock here)")
    assert inventory_selectors.audit_differences(merchant=m) == []


def test_a_return_restocks_in_full_what_a_second_shipment_took_from_stock(shop):
    # Given an order of 5 S-1 shipped on the channel with 2 here, taken back, and shipped again once 5 were counted
    m, _products = shop
    s, order = _shipped_beyond_stock(m)
    [shipment] = Shipment.objects.filter(order=order)
    services.shipment_unship(merchant=m, shipment=shipment)
    inventory_services.stock_adjust(merchant=m, product_id=s.pk, delta=3, reason="found")
    services.shipment_mark_shipped(merchant=m, shipment=shipment)
    assert (level(m, s).on_hand, level(m, s).reserved) == (0, 0)
    # When it is returned, restocked
    services.order_return(merchant=m, order=order, restock=True)
    # Then all 5 are back: every one of them left stock this time
    assert (level(m, s).on_hand, level(m, s).reserved) == (5, 0)
    assert inventory_selectors.audit_differences(merchant=m) == []


def test_the_api_and_the_order_page_show_a_shipment_line_s_units_that_did_not_leave_stock(merchant_a):
    # Given an order of 5 S-1 shipped on the channel with 2 here
    m = merchant_a.merchant
    with tenant_scope(m):
        _s, order = _shipped_beyond_stock(m)
    # When the merchant reads the order and its shipment
    body = merchant_a.api.get(f"/api/v1/orders/{order.pk}/").json()
    [shipment] = body["shipments"]
    # Then the line says 5 shipped, 3 of them not from stock here
    assert [(sl["sku"], sl["quantity"], sl["quantity_unstocked"]) for sl in shipment["lines"]] == [("S-1", 5, 3)]
    assert merchant_a.api.get(f"/api/v1/shipments/{shipment['id']}/").json()["lines"] == shipment["lines"]
    assert "5× S-1 (3 not in stock here, not taken from it)" in merchant_a.web.get(f"/orders/{order.pk}/").content.decode()
