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


def _cancel_by_us(m, order):
    services.order_cancel(merchant=m, order=order)


def _cancel_on_the_channel(m, order):
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        lines=(("L1", "A-1", 4), ("L2", "B-1", 2)), updated_minutes=5, cancelled=True))


def _return(m, order):
    services.order_return(merchant=m, order=order, restock=True)


@pytest.mark.parametrize("end", [_cancel_by_us, _cancel_on_the_channel, _return])
def test_ending_a_partly_shipped_order_cancels_what_remains_the_same_way_everywhere(scope_a, end):
    # given 4 × A (1 shipped, 2 in a pending parcel) and 2 × B (none shipped), all reserved
    from orders.models import OrderLine, Shipment
    from orders.services import ShipmentLineRequest

    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        lines=(("L1", "A-1", 4), ("L2", "B-1", 2)))).order
    la, lb = OrderLine.objects.filter(merchant=m).order_by("position")
    services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(la.pk, 1)])
    services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(la.pk, 2)], ship=False)
    # when the order is cancelled (by us or the channel) or comes back
    end(m, order)
    # then every unshipped unit is cancelled, the pending parcel is gone, the shipped one stays, nothing is held
    assert list(OrderLine.objects.filter(merchant=m).order_by("position").values_list(
        "quantity_fulfilled", "quantity_cancelled", "quantity_reserved")) == [(1, 3, 0), (0, 2, 0)]
    assert list(Shipment.objects.filter(merchant=m).values_list("status", flat=True)) == [Shipment.Status.SHIPPED]
    assert (level(m, a).reserved, level(m, b).reserved) == (0, 0)
    assert level(m, a).on_hand == (10 if end is _return else 9)


def test_the_status_sets_split_every_status_once():
    from orders.workflow import FLOWING, HOLDS_NOTHING, INACTIVE, OPEN, SHIPPABLE, UNPAID, WORK

    assert sorted(OPEN | INACTIVE | UNPAID | {OrderStatus.FULFILLED}) == sorted(OrderStatus.values)
    assert not OPEN & INACTIVE and not UNPAID & (OPEN | INACTIVE | FLOWING)
    assert OrderStatus.FULFILLED not in OPEN | INACTIVE | UNPAID
    assert HOLDS_NOTHING == INACTIVE | UNPAID and WORK == OPEN | UNPAID
    assert SHIPPABLE == OPEN - {OrderStatus.ON_HOLD} and SHIPPABLE < FLOWING
    # an order in a shippable state can always be cancelled; an inactive one goes nowhere
    assert all(can_transition(s, OrderStatus.CANCELLED) for s in OPEN)
    assert all(TRANSITIONS[s] == frozenset() for s in INACTIVE)
