"""An order placed but not paid (a channel's pending or failed payment) waits as awaiting_payment: it
reserves nothing, is in no shipping tab and sends no new-order email; the channel reporting it paid makes it
unfulfilled and reserves its stock, once; cancelled unpaid it releases nothing because it held nothing."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from notifications.models import NotificationLog
from orders import services
from orders.errors import IllegalTransition
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from tests.inventory.helpers import make_product
from tests.orders.helpers import level, normalized, reserved_for

pytestmark = pytest.mark.django_db


def _ingest(m, **kw):
    return services.order_ingest(merchant=m, integration_id=None, normalized=normalized(**kw))


def test_an_unpaid_order_reserves_nothing_and_sends_no_email(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)

    result = _ingest(m, lines=(("L1", "A-1", 3),), awaiting_payment=True, payment_status="pending")

    order = Order.objects.get(merchant=m)
    line = OrderLine.objects.get(merchant=m)
    assert (result.outcome, order.status, order.is_short, order.needs_attention) == (
        "created", OrderStatus.AWAITING_PAYMENT, False, False)
    assert (line.product_id, line.quantity_reserved) == (a.pk, 0)
    assert reserved_for(m, line) == 0
    assert level(m, a).reserved == 0
    assert NotificationLog.objects.filter(merchant=m, kind="new_order").count() == 0


def test_the_same_unpaid_state_again_changes_nothing(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=10)

    outcomes = [_ingest(m, awaiting_payment=True).outcome for _ in range(3)]

    assert outcomes == ["created", "unchanged", "unchanged"]
    assert Order.objects.get(merchant=m).status == OrderStatus.AWAITING_PAYMENT


def test_paid_later_it_becomes_unfulfilled_reserves_and_emails_once(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    _ingest(m, lines=(("L1", "A-1", 3),), awaiting_payment=True, payment_status="pending")

    paid = _ingest(m, lines=(("L1", "A-1", 3),), updated_minutes=5, payment_status="processing")
    again = _ingest(m, lines=(("L1", "A-1", 3),), updated_minutes=5, payment_status="processing")

    order = Order.objects.get(merchant=m)
    line = OrderLine.objects.get(merchant=m)
    assert (paid.outcome, again.outcome) == ("updated", "unchanged")
    assert (order.status, order.channel_payment_status, order.is_short) == (OrderStatus.UNFULFILLED, "processing",
                                                                            False)
    assert line.quantity_reserved == 3
    assert level(m, a).reserved == 3
    assert list(OrderEvent.objects.filter(merchant=m, order=order, kind=OrderEvent.Kind.STATUS)
                .values_list("message", flat=True)) == ["Awaiting payment → Unfulfilled (paid on the channel)"]
    assert NotificationLog.objects.filter(merchant=m, kind="new_order").count() == 1


def test_paid_short_of_stock_goes_short_like_any_channel_order(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=1)
    _ingest(m, lines=(("L1", "A-1", 3),), awaiting_payment=True)

    _ingest(m, lines=(("L1", "A-1", 3),), updated_minutes=5)

    order = Order.objects.get(merchant=m)
    assert (order.status, order.is_short) == (OrderStatus.UNFULFILLED, True)
    assert OrderLine.objects.get(merchant=m).quantity_reserved == 1


def test_cancelled_unpaid_it_is_cancelled_and_held_nothing(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    _ingest(m, lines=(("L1", "A-1", 3),), awaiting_payment=True)

    _ingest(m, lines=(("L1", "A-1", 3),), updated_minutes=5, awaiting_payment=True, cancelled=True)

    order = Order.objects.get(merchant=m)
    assert order.status == OrderStatus.CANCELLED
    assert OrderLine.objects.get(merchant=m).quantity_cancelled == 3
    assert level(m, a).reserved == 0


def test_once_paid_a_later_unpaid_state_changes_no_status(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    _ingest(m, lines=(("L1", "A-1", 2),))

    _ingest(m, lines=(("L1", "A-1", 2),), updated_minutes=5, awaiting_payment=True)

    assert Order.objects.get(merchant=m).status == OrderStatus.UNFULFILLED
    assert level(m, a).reserved == 2


def test_an_unpaid_order_cannot_be_shipped_or_held(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=10)
    order = _ingest(m, awaiting_payment=True).order

    with pytest.raises(IllegalTransition):
        services.order_fulfill_all(merchant=m, order=order)
    with pytest.raises(IllegalTransition):
        services.order_hold(merchant=m, order=order)

    assert Order.objects.get(merchant=m).status == OrderStatus.AWAITING_PAYMENT


def test_the_list_holds_unpaid_orders_in_their_own_tab(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=10)
        _ingest(m, external_id="paid")
        _ingest(m, external_id="unpaid", awaiting_payment=True)

    awaiting = merchant_a.web.get("/orders/?tab=awaiting").content.decode()
    unpaid = merchant_a.web.get("/orders/?tab=awaiting_payment").content.decode()
    api = merchant_a.api.get("/api/v1/orders/?tab=awaiting_payment").json()

    assert 'data-order="#paid"' in awaiting and 'data-order="#unpaid"' not in awaiting
    assert 'data-order="#unpaid"' in unpaid and 'data-order="#paid"' not in unpaid
    assert [row["status"] for row in api["results"]] == ["awaiting_payment"]
