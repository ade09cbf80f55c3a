"""Short orders get arriving stock oldest first, however long the backlog and whatever else they lack."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inventory import services as inventory_services
from inventory.models import AvailabilityMark
from orders import services
from orders.models import Order, OrderLine
from tests.inventory.helpers import make_product
from tests.orders.helpers import T0, level, normalized

pytestmark = pytest.mark.django_db


def test_a_backlog_longer_than_one_batch_is_allocated_in_full(scope_a):
    # given three orders short of A (one unit each), and batches of two
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=0)
    orders = [services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        str(i), lines=(("L1", "A-1", 1),), placed_at=T0 + timedelta(hours=i))).order for i in range(3)]
    AvailabilityMark.objects.filter(merchant=m).delete()
    # when 3 units arrive and the consumer runs once
    inventory_services.stock_adjust(merchant=m, product_id=a.pk, delta=3, reason="received")
    result = services.short_orders_allocate(merchant=m, limit=2)
    # then all three got their unit (the third was not left waiting for the next stock change)
    assert result["units"] == 3
    assert [Order.objects.get(pk=o.pk).is_short for o in orders] == [False, False, False]
    assert level(m, a).reserved == 3
    # and a second run (our own reservations re-marked A) finds nothing left to do
    assert services.short_orders_allocate(merchant=m, limit=2)["units"] == 0


def test_orders_short_of_another_product_do_not_hide_those_waiting_for_this_one(scope_a):
    # given two old orders short of B (A fully reserved) and a newer order short of A, batches of two
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=2)
    make_product(m, "B-1", on_hand=0)
    for i in range(2):
        services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            str(i), lines=(("L1", "A-1", 1), ("L2", "B-1", 1)), placed_at=T0 + timedelta(hours=i)))
    waiting = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "9", lines=(("L1", "A-1", 1),), placed_at=T0 + timedelta(hours=9))).order
    AvailabilityMark.objects.filter(merchant=m).delete()
    # when one unit of A arrives
    inventory_services.stock_adjust(merchant=m, product_id=a.pk, delta=1, reason="received")
    services.short_orders_allocate(merchant=m, limit=2)
    # then the order waiting for A gets it
    waiting.refresh_from_db()
    assert waiting.is_short is False
    assert OrderLine.objects.get(merchant=m, order=waiting).quantity_reserved == 1
    assert level(m, a).reserved == 3
