"""The state machine and its 409s."""

from __future__ import annotations

import pytest

from orders import services
from orders.errors import IllegalTransition
from orders.models import OrderStatus
from orders.workflow import TRANSITIONS, can_transition, check_transition
from tests.inventory.helpers import make_product
from tests.orders.helpers import level, normalized

pytestmark = pytest.mark.django_db


def test_every_state_has_its_transitions_listed():
    assert set(TRANSITIONS) == set(OrderStatus.values)
    assert TRANSITIONS[OrderStatus.CANCELLED] == frozenset()
    assert can_transition(OrderStatus.UNFULFILLED, OrderStatus.ON_HOLD)
    assert not can_transition(OrderStatus.FULFILLED, OrderStatus.CANCELLED)


def test_illegal_transition_error_carries_current_and_requested():
    with pytest.raises(IllegalTransition) as err:
        check_transition(OrderStatus.CANCELLED, OrderStatus.ON_HOLD)
    assert (err.value.status_code, err.value.code) == (409, "illegal_transition")
    assert err.value.details == {"current": "cancelled", "requested": "on_hold"}


def test_cancel_releases_and_cannot_be_repeated(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=5)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    services.order_cancel(merchant=m, order=order, reason="customer called")
    assert level(m, a).reserved == 0
    with pytest.raises(IllegalTransition):
        services.order_cancel(merchant=m, order=order)


def test_hold_keeps_reservations_and_release_restores_status(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=5)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    order = services.order_hold(merchant=m, order=order, reason="address check")
    assert (order.status, level(m, a).reserved) == (OrderStatus.ON_HOLD, 2)
    order = services.order_release_hold(merchant=m, order=order)
    assert order.status == OrderStatus.UNFULFILLED


def test_channel_cancel_of_a_fulfilled_order_changes_nothing_but_is_recorded(scope_a):
    from orders.models import OrderEvent

    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=5)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    services.order_fulfill_all(merchant=m, order=order)
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(updated_minutes=3, cancelled=True))
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert level(m, a).on_hand == 3
    assert OrderEvent.objects.filter(merchant=m, order=order, kind=OrderEvent.Kind.CANCELLED).count() == 1
