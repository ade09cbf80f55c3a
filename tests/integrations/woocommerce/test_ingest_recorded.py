"""Recorded WooCommerce orders through the mapping into orders.services.order_ingest: what is paid reserves
exactly its lines, what is pending reserves nothing until a later state of it arrives paid, an empty-SKU line
waits to be mapped, and the refunded order cancels ours."""

from __future__ import annotations

import pytest

from integrations.channels.woocommerce.mapping import order_from_wc
from orders import services
from orders.models import Order, OrderLine, OrderStatus
from tests.fakes.woocommerce.realworld import realworld as recorded
from tests.inventory.helpers import make_product
from tests.orders.helpers import level

pytestmark = pytest.mark.django_db


def _ingest(m, body):
    return services.order_ingest(merchant=m, integration_id=None, normalized=order_from_wc(body), notify=False)


def test_paid_pending_and_refunded_recorded_orders_reserve_exactly(scope_a):
    m = scope_a.merchant
    bar3 = make_product(m, "Bar3", on_hand=10)
    batch = recorded("orders_batch_wc-v3.json")
    pending, paid = batch["create"]

    _ingest(m, recorded("order_retrieve_wc-v3.json"))  # 727 processing: Bar3 x1, an empty-SKU line x2
    _ingest(m, pending)  # 728 pending: Bar3 x1, two empty-SKU lines
    _ingest(m, paid)  # 729 processing: Bar3 x1, an empty-SKU line
    _ingest(m, recorded("order_fully_refunded_recorded_jetpack_envelope.json"))  # 609 refunded

    statuses = dict(Order.objects.filter(merchant=m).values_list("external_id", "status"))
    assert statuses == {"727": OrderStatus.UNFULFILLED, "728": OrderStatus.AWAITING_PAYMENT,
                        "729": OrderStatus.UNFULFILLED, "609": OrderStatus.CANCELLED}
    assert level(m, bar3).reserved == 2  # 727 and 729; nothing for the pending 728
    empty = OrderLine.objects.filter(merchant=m, sku="", order__external_id="727").get()
    assert (empty.product_id, empty.quantity, empty.quantity_reserved) == (None, 2, 0)
    assert Order.objects.get(merchant=m, external_id="727").needs_attention is True
    assert Order.objects.get(merchant=m, external_id="728").needs_attention is True  # still to map before it is paid

    later = {**pending, "status": "processing", "date_modified_gmt": "2017-03-22T19:40:00",
             "date_paid_gmt": "2017-03-22T19:40:00"}
    result = _ingest(m, later)

    assert (result.outcome, result.order.status) == ("updated", OrderStatus.UNFULFILLED)
    assert level(m, bar3).reserved == 3


def test_the_same_recorded_order_twice_changes_nothing(scope_a):
    m = scope_a.merchant
    make_product(m, "Bar3", on_hand=10)
    body = recorded("order_retrieve_wc-v3.json")

    outcomes = [_ingest(m, body).outcome for _ in range(3)]

    assert outcomes == ["created", "unchanged", "unchanged"]
