"""Channel updates that arrive after some of the order has shipped: status and reservations stay true."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from orders import services
from orders.models import OrderLine, OrderStatus, Shipment
from orders.normalized import NormalizedLine
from orders.services import ShipmentLineRequest
from tests.inventory.helpers import make_product
from tests.orders.helpers import level, normalized, reserved_for

pytestmark = pytest.mark.django_db


def _ship(m, order, line, qty):
    return services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(line.pk, qty)])


def test_line_removed_after_partial_shipment_leaves_nothing_to_ship_so_order_is_fulfilled(scope_a):
    # given an order of 2 × A and 3 × B, where A has shipped in full
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        lines=(("L1", "A-1", 2), ("L2", "B-1", 3)))).order
    la, lb = OrderLine.objects.filter(merchant=m).order_by("position")
    _ship(m, order, la, 2)
    # when the channel drops line B
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        lines=(("L1", "A-1", 2),), updated_minutes=5))
    order.refresh_from_db()
    lb.refresh_from_db()
    # then B is cancelled and released, and the order, with nothing left to ship, is fulfilled
    assert (lb.quantity_cancelled, lb.quantity_reserved, reserved_for(m, lb)) == (3, 0, 0)
    assert level(m, b).reserved == 0
    assert level(m, a).on_hand == 8
    assert order.status == OrderStatus.FULFILLED


def test_quantity_cut_below_shipped_keeps_shipped_and_fulfills(scope_a):
    # given 5 × A ordered, 3 shipped
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 5),))).order
    la = OrderLine.objects.get(merchant=m)
    _ship(m, order, la, 3)
    # when the channel says 2
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 2),),
                                                                               updated_minutes=5))
    order.refresh_from_db()
    la.refresh_from_db()
    # then what shipped stays shipped, nothing stays reserved, and the order is fulfilled
    assert (la.quantity, la.quantity_fulfilled, la.quantity_reserved) == (3, 3, 0)
    assert (level(m, a).on_hand, level(m, a).reserved) == (7, 0)
    assert order.status == OrderStatus.FULFILLED


def test_quantity_raised_on_a_fulfilled_order_reserves_nothing_it_can_never_ship(scope_a):
    # given an order of 2 × A, fully shipped
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 2),))).order
    la = OrderLine.objects.get(merchant=m)
    _ship(m, order, la, 2)
    # when the channel later says 4
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 4),),
                                                                               updated_minutes=5))
    order.refresh_from_db()
    la.refresh_from_db()
    # then the 2 extra units can be shipped (the order is open again) and are reserved for it
    assert order.status == OrderStatus.PARTIALLY_FULFILLED
    assert (la.quantity, la.quantity_fulfilled, la.quantity_reserved) == (4, 2, 2)
    assert (level(m, a).on_hand, level(m, a).reserved) == (8, 2)
    _ship(m, order, la, 2)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert (level(m, a).on_hand, level(m, a).reserved) == (6, 0)


def test_channel_cancel_of_partially_shipped_order_drops_pending_parcels_and_releases_the_rest(scope_a):
    # given 5 × A: 2 shipped, 2 in a pending parcel
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 5),))).order
    la = OrderLine.objects.get(merchant=m)
    _ship(m, order, la, 2)
    services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(la.pk, 2)], ship=False)
    # when the channel cancels the order
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 5),),
                                                                               updated_minutes=5, cancelled=True))
    order.refresh_from_db()
    la.refresh_from_db()
    # then the 3 unshipped are cancelled and released, the pending parcel is gone, shipped stays shipped
    assert order.status == OrderStatus.CANCELLED
    assert (la.quantity_fulfilled, la.quantity_cancelled, la.quantity_reserved) == (2, 3, 0)
    assert (level(m, a).on_hand, level(m, a).reserved) == (8, 0)
    assert list(Shipment.objects.filter(merchant=m).values_list("status", flat=True)) == [Shipment.Status.SHIPPED]


def test_new_line_on_an_order_cancelled_here_is_cancelled_too(scope_a):
    # given an order the merchant cancelled
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    services.order_cancel(merchant=m, order=order)
    # when the channel re-delivers it with an extra line
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        lines=(("L1", "A-1", 2), ("L2", "B-1", 1)), updated_minutes=5))
    order.refresh_from_db()
    lb = OrderLine.objects.get(merchant=m, sku="B-1")
    # then it stays cancelled, nothing is reserved, and the new line has nothing outstanding
    assert order.status == OrderStatus.CANCELLED
    assert (lb.quantity_cancelled, lb.quantity_outstanding, lb.quantity_reserved) == (1, 0, 0)
    assert level(m, b).reserved == 0


def test_channel_amounts_round_half_up_to_the_cent(scope_a):
    # given a channel that sends amounts with a third decimal (tax-inclusive prices, some marketplaces)
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=10)
    n = replace(normalized(), lines=(NormalizedLine(external_id="L1", sku="A-1", quantity=1, unit_price=Decimal("2.125")),),
                subtotal=Decimal("2.125"), tax=Decimal("0.445"), total=Decimal("2.565"))
    # when it is ingested
    order = services.order_ingest(merchant=m, integration_id=None, normalized=n).order
    order.refresh_from_db()
    # then every amount is rounded half up, as the channels and the customer's receipt do (not to the even cent)
    line = OrderLine.objects.get(merchant=m)
    assert (line.unit_price_amount, order.subtotal_amount, order.tax_amount, order.total_amount) == (
        Decimal("2.13"), Decimal("2.13"), Decimal("0.45"), Decimal("2.57"))


def test_pending_parcel_of_a_line_whose_sku_changed_to_an_unknown_one_is_refused_not_crashed(scope_a):
    # given a pending parcel of 1 × A
    from orders.errors import ShipmentInvalid

    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    la = OrderLine.objects.get(merchant=m)
    parcel = services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(la.pk, 1)], ship=False)
    # when the channel changes that line's SKU to one we do not know, and the parcel is then marked shipped
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "NEW-SKU", 2),),
                                                                               updated_minutes=5))
    with pytest.raises(ShipmentInvalid) as err:
        services.shipment_mark_shipped(merchant=m, shipment=parcel)
    # then it is refused as unmapped, and nothing shipped
    assert err.value.code == "sku_not_mapped"
    assert (level(m, a).on_hand, level(m, a).reserved) == (10, 0)
    assert Shipment.objects.get(merchant=m).status == Shipment.Status.PENDING


def test_hold_released_after_the_channel_cut_what_was_left_makes_the_order_fulfilled(scope_a):
    # given 3 × A, 1 shipped, then the order put on hold
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 3),))).order
    la = OrderLine.objects.get(merchant=m)
    _ship(m, order, la, 1)
    services.order_hold(merchant=m, order=order, reason="address check")
    # when the channel cuts the line to the 1 shipped, and the hold is released
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 1),),
                                                                               updated_minutes=5))
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    services.order_release_hold(merchant=m, order=order)
    order.refresh_from_db()
    # then the order is fulfilled (not stuck on hold) and nothing stays reserved
    assert (order.status, order.hold_reason) == (OrderStatus.FULFILLED, "")
    assert (level(m, a).on_hand, level(m, a).reserved) == (9, 0)


def test_negative_order_total_is_a_validation_error_not_a_database_error(scope_a):
    # given a payload whose total is negative (a refund mistaken for an order)
    from decimal import Decimal

    from core.errors import ValidationFailed
    from orders.models import Order

    m = scope_a.merchant
    make_product(m, "A-1", on_hand=10)
    # when it is ingested, then it is refused as invalid (400), and nothing is written
    with pytest.raises(ValidationFailed) as err:
        services.order_ingest(merchant=m, integration_id=None, normalized=normalized(total=Decimal("-5.00")))
    assert (err.value.status_code, err.value.code) == (400, "negative_total")
    assert Order.objects.filter(merchant=m).count() == 0


def test_return_of_a_partially_shipped_order_restocks_what_shipped_and_cancels_the_rest(scope_a):
    # given 3 × A, 1 shipped, 2 still reserved
    from inventory.models import StockLevel

    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 3),))).order
    la = OrderLine.objects.get(merchant=m)
    _ship(m, order, la, 1)
    # when the customer returns the parcel
    services.order_return(merchant=m, order=order, restock=True)
    order.refresh_from_db()
    la.refresh_from_db()
    # then the shipped unit is back on hand, the 2 never shipped are released and no longer outstanding
    assert order.status == OrderStatus.RETURNED
    assert (la.quantity_fulfilled, la.quantity_cancelled, la.quantity_outstanding, la.quantity_reserved) == (1, 2, 0, 0)
    assert sum(StockLevel.objects.filter(merchant=m, product=a).values_list("on_hand", flat=True)) == 10
    assert level(m, a).reserved == 0


def _priced(*specs) -> tuple[NormalizedLine, ...]:
    """Lines without a channel line id, as some channels send them: (sku, quantity, unit price)."""
    return tuple(NormalizedLine(external_id="", sku=sku, quantity=q, unit_price=Decimal(price), title=f"Item {sku}")
                 for sku, q, price in specs)


def test_line_without_channel_id_dropped_before_a_shipped_one_does_not_ship_the_shipped_one_again(scope_a):
    # given lines without channel ids, 2 × A then 3 × B, and B shipped in full
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        lines=(("", "A-1", 2), ("", "B-1", 3)))).order
    la, lb = OrderLine.objects.filter(merchant=m).order_by("position")
    _ship(m, order, lb, 3)
    # when the channel drops A, so B is now its first line
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        lines=(("", "B-1", 3),), updated_minutes=5))
    order.refresh_from_db()
    # then B is still the one shipped line, A is cancelled, nothing is reserved and the order is fulfilled
    assert list(OrderLine.objects.filter(merchant=m).order_by("id").values_list(
        "pk", "sku", "quantity", "quantity_fulfilled", "quantity_cancelled", "quantity_reserved")) == [
        (la.pk, "A-1", 2, 0, 2, 0), (lb.pk, "B-1", 3, 3, 0, 0)]
    assert (level(m, a).on_hand, level(m, a).reserved) == (10, 0)
    assert (level(m, b).on_hand, level(m, b).reserved) == (7, 0)
    assert order.status == OrderStatus.FULFILLED


def test_two_lines_of_one_sku_without_ids_are_told_apart_by_price(scope_a):
    # given 2 × A at 10.00 and 1 × A at 5.00 (a discounted unit), the discounted one shipped
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    first = normalized(lines=())
    order = services.order_ingest(merchant=m, integration_id=None, normalized=replace(
        first, lines=_priced(("A-1", 2, "10.00"), ("A-1", 1, "5.00")))).order
    full, discounted = OrderLine.objects.filter(merchant=m).order_by("position")
    _ship(m, order, discounted, 1)
    # when the channel drops the full-price line
    services.order_ingest(merchant=m, integration_id=None, normalized=replace(
        normalized(lines=(), updated_minutes=5), lines=_priced(("A-1", 1, "5.00"))))
    order.refresh_from_db()
    # then the discounted line stays the shipped one and the full-price one is cancelled and released
    assert list(OrderLine.objects.filter(merchant=m).order_by("id").values_list(
        "pk", "quantity_fulfilled", "quantity_cancelled", "quantity_reserved")) == [
        (full.pk, 0, 2, 0), (discounted.pk, 1, 0, 0)]
    assert (level(m, a).on_hand, level(m, a).reserved) == (9, 0)
    assert order.status == OrderStatus.FULFILLED


def test_identical_lines_without_ids_when_one_goes_the_shipped_one_is_kept(scope_a):
    # given two identical lines of 2 × A, the first shipped
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        lines=(("", "A-1", 2), ("", "A-1", 2)))).order
    shipped, waiting = OrderLine.objects.filter(merchant=m).order_by("position")
    _ship(m, order, shipped, 2)
    # when the channel lists only one of them (which one cannot be told: both are 2 × A at 10.00)
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        lines=(("", "A-1", 2),), updated_minutes=5))
    order.refresh_from_db()
    # then the channel's 2 × A is the 2 already shipped: the other line is cancelled, nothing more ships
    assert list(OrderLine.objects.filter(merchant=m).order_by("id").values_list(
        "pk", "quantity_fulfilled", "quantity_cancelled", "quantity_reserved")) == [
        (shipped.pk, 2, 0, 0), (waiting.pk, 0, 2, 0)]
    assert (level(m, a).on_hand, level(m, a).reserved) == (8, 0)
    assert order.status == OrderStatus.FULFILLED
