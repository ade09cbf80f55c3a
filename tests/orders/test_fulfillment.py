"""Shipments: partial then full fulfillment, stock shipped through inventory, tracking outbox."""

from __future__ import annotations

import pytest

from orders import services
from orders.errors import IllegalTransition, ShipmentAlreadyShipped, ShipmentInvalid
from orders.models import OrderLine, OrderStatus, Shipment, TrackingOutbox
from orders.services import ShipmentLineRequest
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import level, normalized, reserved_for

pytestmark = pytest.mark.django_db


def test_partial_then_full_fulfillment_math(scope_a):
    # given an order of 3 × A and 2 × B, all reserved
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=5)
    shop = make_integration(m)
    order = services.order_ingest(merchant=m, integration_id=shop.pk, normalized=normalized(
        lines=(("L1", "A-1", 3), ("L2", "B-1", 2)))).order
    la, lb = OrderLine.objects.filter(merchant=m).order_by("position")
    # when 1 × A ships
    first = services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(la.pk, 1)],
                                     carrier="UPS", tracking_number="1Z1")
    order.refresh_from_db()
    la.refresh_from_db()
    # then the order is partially fulfilled and A's numbers moved by exactly 1
    assert order.status == OrderStatus.PARTIALLY_FULFILLED
    assert (la.quantity_fulfilled, la.quantity_reserved, la.quantity_outstanding) == (1, 2, 2)
    assert (level(m, a).on_hand, level(m, a).reserved) == (9, 2)
    assert reserved_for(m, la) == 2
    assert first.status == Shipment.Status.SHIPPED and first.shipped_at is not None
    # when the rest ships in a second parcel
    services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(la.pk, 2), ShipmentLineRequest(lb.pk, 2)],
                             carrier="UPS", tracking_number="1Z2")
    order.refresh_from_db()
    la.refresh_from_db()
    lb.refresh_from_db()
    # then it is fulfilled, nothing is reserved, on_hand fell by what shipped
    assert order.status == OrderStatus.FULFILLED
    assert (la.quantity_fulfilled, la.quantity_reserved, lb.quantity_fulfilled, lb.quantity_reserved) == (3, 0, 2, 0)
    assert (level(m, a).on_hand, level(m, a).reserved, level(m, b).on_hand, level(m, b).reserved) == (7, 0, 3, 0)
    assert list(TrackingOutbox.objects.filter(merchant=m).values_list("shipment__tracking_number", "channel",
                                                                         "integration_id", "processed_at")) == [
        ("1Z1", "shopify", shop.pk, None), ("1Z2", "shopify", shop.pk, None)]


def test_cannot_ship_more_than_is_left(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    line = OrderLine.objects.get(merchant=m)
    with pytest.raises(ShipmentInvalid) as err:
        services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(line.pk, 3)])
    assert err.value.details == {"line": line.pk, "sku": "A-1", "requested": 3, "left": 2}
    assert Shipment.objects.filter(merchant=m).count() == 0


def test_shipping_an_order_on_hold_is_an_illegal_transition(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    services.order_hold(merchant=m, order=order, reason="fraud check")
    line = OrderLine.objects.get(merchant=m)
    with pytest.raises(IllegalTransition) as err:
        services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(line.pk, 1)])
    assert err.value.details == {"current": "on_hold", "requested": "partially_fulfilled"}
    assert (level(m, a).on_hand, level(m, a).reserved) == (10, 2)


def test_pending_shipment_then_mark_shipped_with_manual_tracking(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(channel="woocommerce")).order
    line = OrderLine.objects.get(merchant=m)
    shipment = services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(line.pk, 2)], ship=False)
    assert shipment.status == Shipment.Status.PENDING and level(m, a).on_hand == 10
    services.shipment_mark_shipped(merchant=m, shipment=shipment, carrier="DHL", tracking_number="JD0001")
    order.refresh_from_db()
    shipment.refresh_from_db()
    assert (order.status, shipment.carrier, shipment.tracking_number) == (OrderStatus.FULFILLED, "DHL", "JD0001")
    assert (level(m, a).on_hand, level(m, a).reserved) == (8, 0)


def test_return_restocks_what_shipped(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    services.order_fulfill_all(merchant=m, order=order)
    services.order_return(merchant=m, order=order, restock=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED
    assert (level(m, a).on_hand, level(m, a).reserved) == (10, 0)


def test_manual_orders_write_no_tracking_outbox_row(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=10)
    order = services.order_create_manual(merchant=m, lines=[services.ManualLine(sku="A-1", quantity=1)])
    services.order_fulfill_all(merchant=m, order=order, carrier="DHL", tracking_number="X1")
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert TrackingOutbox.objects.filter(merchant=m).count() == 0


def test_a_pending_shipment_takes_its_units_out_of_what_is_left_and_can_be_cancelled(scope_a):
    # given an order of 3 × A with 2 units in a pending shipment
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 3),))).order
    line = OrderLine.objects.get(merchant=m)
    pending = services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(line.pk, 2)], ship=False)
    # when everything left is fulfilled, only the 1 unit no parcel holds goes into the new shipment
    shipped = services.order_fulfill_all(merchant=m, order=order)
    assert list(shipped.lines.values_list("quantity", flat=True)) == [1]
    with pytest.raises(ShipmentInvalid) as err:
        services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(line.pk, 1)])
    assert err.value.details == {"line": line.pk, "sku": "A-1", "requested": 1, "left": 0}
    # when the pending shipment is cancelled, its 2 units are left to ship again; no stock moved
    services.shipment_cancel(merchant=m, shipment=pending)
    assert not Shipment.objects.filter(merchant=m, pk=pending.pk).exists()
    assert (level(m, a).on_hand, level(m, a).reserved) == (9, 2)
    services.order_fulfill_all(merchant=m, order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert (level(m, a).on_hand, level(m, a).reserved) == (7, 0)
    assert order.events.filter(message__startswith=f"Shipment {pending.pk} cancelled").count() == 1


def test_a_shipped_shipment_cannot_be_cancelled(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    shipment = services.order_fulfill_all(merchant=m, order=order)
    with pytest.raises(ShipmentAlreadyShipped) as err:
        services.shipment_cancel(merchant=m, shipment=shipment)
    assert (err.value.status_code, err.value.code) == (409, "shipment_already_shipped")
    assert Shipment.objects.get(merchant=m, pk=shipment.pk).status == Shipment.Status.SHIPPED
    assert (level(m, a).on_hand, level(m, a).reserved) == (8, 0)
