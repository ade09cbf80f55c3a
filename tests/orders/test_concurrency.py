"""Concurrent deliveries of one order (webhook retries racing the poller) on PostgreSQL, real threads."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.tenancy import tenant_scope
from notifications.services import notification_settings_update
from orders import services
from orders.models import Order, OrderLine
from tests.inventory.helpers import make_product
from tests.orders.helpers import level, normalized, reserved_for


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_deliveries_make_one_order_and_one_reservation(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        notification_settings_update(merchant=m, new_order_mode="off")
    barrier = threading.Barrier(8)
    outcomes, errors = [], []

    def deliver():
        try:
            with tenant_scope(m):
                barrier.wait()
                outcomes.append(services.order_ingest(merchant=m, integration_id=None,
                                                      normalized=normalized(lines=(("L1", "A-1", 3),))).outcome)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(outcomes) == ["created"] + ["unchanged"] * 7
    with tenant_scope(m):
        assert Order.objects.filter(merchant=m).count() == 1
        line = OrderLine.objects.get(merchant=m)
        assert (line.quantity_reserved, reserved_for(m, line), level(m, a).reserved) == (3, 3, 3)
