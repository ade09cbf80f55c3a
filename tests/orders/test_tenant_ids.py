"""Ids a client sends inside a payload (bulk order ids, shipment line ids, map-sku line and SKU) are
resolved inside the caller's merchant: another merchant's ids are 404/400 and change nothing."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from orders import services
from orders.models import Order, OrderLine, OrderStatus, OrderTag, Shipment
from tests.inventory.helpers import make_product
from tests.orders.helpers import level, normalized

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_shops(merchant_a, merchant_b):
    a, b = merchant_a.merchant, merchant_b.merchant
    with tenant_scope(a):
        make_product(a, "A-1", on_hand=10)
        order_a = services.order_ingest(merchant=a, integration_id=None, normalized=normalized("1", lines=(
            ("L1", "A-1", 1), ("L2", "UNKNOWN", 1)))).order
        line_a = OrderLine.objects.get(merchant=a, sku="UNKNOWN")
    with tenant_scope(b):
        pb = make_product(b, "B-ONLY", on_hand=10)
        order_b = services.order_ingest(merchant=b, integration_id=None, normalized=normalized("1", lines=(
            ("L1", "B-ONLY", 2), ("L2", "UNKNOWN", 1)))).order
        lines_b = {li.sku: li for li in OrderLine.objects.filter(merchant=b)}
    return merchant_a, merchant_b, order_a, line_a, order_b, lines_b, pb


def _b_untouched(merchant_b, order_b, lines_b, pb):
    b = merchant_b.merchant
    with tenant_scope(b):
        order = Order.objects.get(merchant=b, pk=order_b.pk)
        assert (order.status, order.needs_attention) == (OrderStatus.UNFULFILLED, True)
        assert OrderTag.objects.filter(merchant=b).count() == 0
        assert Shipment.objects.filter(merchant=b).count() == 0
        assert [(li.sku, li.product_id, li.quantity_reserved, li.quantity_fulfilled)
                for li in OrderLine.objects.filter(merchant=b).order_by("position")] == [
            ("B-ONLY", pb.pk, 2, 0), ("UNKNOWN", None, 0, 0)]
        assert (level(b, pb).on_hand, level(b, pb).reserved) == (10, 2)


@pytest.mark.parametrize("action", ["fulfill", "hold", "cancel", "tag"])
def test_bulk_with_another_merchants_order_id_is_not_found(two_shops, action):
    tenant_a, merchant_b, _, _, order_b, lines_b, pb = two_shops
    r = tenant_a.api.post("/api/v1/orders/bulk/", {"ids": [order_b.pk], "action": action, "tag": "x", "reason": "r"},
                          format="json")
    assert r.status_code == 200
    assert r.json() == {"done": [], "done_orders": [],
                        "failed": [{"id": order_b.pk, "number": None, "code": "not_found", "message": "No such order."}]}
    _b_untouched(merchant_b, order_b, lines_b, pb)


def test_shipment_with_another_merchants_line_id_is_refused(two_shops):
    tenant_a, merchant_b, order_a, _, order_b, lines_b, pb = two_shops
    r = tenant_a.api.post(f"/api/v1/orders/{order_a.pk}/shipments/",
                          {"lines": [{"line": lines_b["B-ONLY"].pk, "quantity": 1}]}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "shipment_invalid")
    with tenant_scope(tenant_a.merchant):
        assert Shipment.objects.filter(merchant=tenant_a.merchant).count() == 0
    _b_untouched(merchant_b, order_b, lines_b, pb)


def test_map_sku_with_another_merchants_line_or_product_changes_nothing(two_shops):
    tenant_a, merchant_b, order_a, line_a, order_b, lines_b, pb = two_shops
    # another merchant's line id, on one's own order: 404
    r = tenant_a.api.post(f"/api/v1/orders/{order_a.pk}/map-sku/", {"line": lines_b["UNKNOWN"].pk, "sku": "A-1"},
                          format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    # one's own line mapped to another merchant's SKU: 400 unknown_sku
    r = tenant_a.api.post(f"/api/v1/orders/{order_a.pk}/map-sku/", {"line": line_a.pk, "sku": "B-ONLY"}, format="json")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "unknown_sku")
    # mapping one's own "UNKNOWN" line (all open lines with that SKU) leaves the other merchant's "UNKNOWN" alone
    with tenant_scope(tenant_a.merchant):
        make_product(tenant_a.merchant, "A-2", on_hand=5)
    r = tenant_a.api.post(f"/api/v1/orders/{order_a.pk}/map-sku/", {"line": line_a.pk, "sku": "A-2"}, format="json")
    assert r.status_code == 200 and r.json()["needs_attention"] is False
    _b_untouched(merchant_b, order_b, lines_b, pb)
