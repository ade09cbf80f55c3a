from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from orders import services
from orders.models import OrderLine
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=50)
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized("1")).order
        line_id = OrderLine.objects.get(order=order).pk
    merchant_a.web.post(f"/orders/{order.pk}/ship/", {f"qty_{line_id}": "2", "carrier": "UPS",
                                                      "tracking_number": "1Z999AA10123456784", "ship_now": "on"})
    return merchant_a, order


def test_shipments_page_lists_parcels_with_tracking(shipped):
    tenant, order = shipped

    page = tenant.web.get("/shipments/")
    only_pending = tenant.web.get("/shipments/?status=pending")

    assert page.status_code == 200
    assert b"1Z999AA10123456784" in page.content and b"UPS" in page.content
    assert f"/orders/{order.pk}/".encode() in page.content
    assert b"1Z999AA10123456784" not in only_pending.content


def test_another_merchant_sees_none_of_them(shipped, merchant_b):
    page = merchant_b.web.get("/shipments/")

    assert page.status_code == 200
    assert b"1Z999AA10123456784" not in page.content
    assert b"No shipments yet" in page.content


def test_page_runs_a_bounded_number_of_queries(shipped, django_assert_max_num_queries):
    tenant, _ = shipped
    with django_assert_max_num_queries(8):
        assert tenant.web.get("/shipments/").status_code == 200
