"""The demo seeder: a few hundred orders in every state, through the services, safe to run twice."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from orders.models import Order, OrderStatus, Shipment

pytestmark = pytest.mark.django_db


def test_demo_seed_is_alive_and_idempotent(merchant_a):
    import inventory.demo
    import orders.demo

    m = merchant_a.merchant
    with tenant_scope(m):
        inventory.demo.seed(merchant=m, user=merchant_a.user)
        orders.demo.seed(merchant=m, user=merchant_a.user)
        count = Order.objects.filter(merchant=m).count()
        statuses = set(Order.objects.filter(merchant=m).values_list("status", flat=True))
        channels = set(Order.objects.filter(merchant=m).values_list("channel", flat=True))
        shipments = Shipment.objects.filter(merchant=m).count()
        orders.demo.seed(merchant=m, user=merchant_a.user)
        assert Order.objects.filter(merchant=m).count() == count
        assert Shipment.objects.filter(merchant=m).count() == shipments
        assert Order.objects.filter(merchant=m, is_short=True).exists()
        assert Order.objects.filter(merchant=m, needs_attention=True).exists()
    assert 250 <= count <= 320
    assert {OrderStatus.UNFULFILLED, OrderStatus.PARTIALLY_FULFILLED, OrderStatus.FULFILLED,
            OrderStatus.CANCELLED} <= statuses
    assert channels == {"shopify", "woocommerce", "amazon", "manual"}
    r = merchant_a.web.get("/orders/analytics/")
    assert r.status_code == 200 and r.content.count(b"<svg") == 7  # 5 charts; the two per-day ones drawn for laptop and phone
