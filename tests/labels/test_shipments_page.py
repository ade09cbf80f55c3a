from __future__ import annotations

import html
import re

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


def test_older_link_keeps_a_carrier_filter_with_ampersand_and_plus(merchant_a, monkeypatch):
    # Given three shipments of one order: two by a carrier whose name has "&" and "+", one by another,
    # and pages of one shipment
    monkeypatch.setattr("labels.views.PAGE", 1)
    m = merchant_a.merchant
    carrier = "DHL & Co+Express"
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=50)
        order = services.order_ingest(merchant=m, integration_id=None,
                                      normalized=normalized("1", lines=(("L1", "A-1", 3),))).order
        line_id = OrderLine.objects.get(order=order).pk
        first, _other, _last = (
            services.shipment_create(merchant=m, order=order, carrier=c, tracking_number=f"TRKNUM{i}Z",
                                     lines=[services.ShipmentLineRequest(line_id, 1)])
            for i, c in enumerate((carrier, "UPS", carrier)))
    page = merchant_a.web.get("/shipments/", {"carrier": carrier})

    # When the merchant follows the "Older" link
    [href] = re.findall(r'href="(\?before=[^"]*)"', page.content.decode())
    older = merchant_a.web.get("/shipments/" + html.unescape(href))

    # Then the link carries the filter encoded, and the older page is still filtered by that carrier
    assert "carrier=DHL+%26+Co%2BExpress" in html.unescape(href)
    assert older.status_code == 200
    assert b'id="shipment-%d"' % first.pk in older.content
    assert b"TRKNUM1Z" not in older.content  # the UPS parcel between them is filtered out
