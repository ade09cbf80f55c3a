"""Dashboard pages: list with filters and bulk actions, order page, manual order, export, analytics, settings."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from notifications.services import notification_settings_get
from orders import services
from orders.models import Order, OrderStatus, OrderTag
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=50)
        o1 = services.order_ingest(merchant=m, integration_id=None, normalized=normalized("1")).order
        o2 = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "2", lines=(("L", "ZZZ", 1),), customer_name="Grace Hopper", raw={"secret_field": "<b>raw</b>"})).order
    return merchant_a, o1, o2


def test_list_page_filters(shop):
    tenant, o1, o2 = shop
    r = tenant.web.get("/orders/")
    assert r.status_code == 200
    assert b"#1" in r.content and b"#2" in r.content
    r = tenant.web.get("/orders/?needs_attention=on")
    assert b"Grace Hopper" in r.content and b'value="%d"' % o1.pk not in r.content


def test_order_page_shows_lines_timeline_and_escaped_raw_payload(shop):
    tenant, _, o2 = shop
    r = tenant.web.get(f"/orders/{o2.pk}/")
    assert r.status_code == 200
    assert b"Map unmatched SKUs" in r.content and b"Received" in r.content
    assert b"&lt;b&gt;raw&lt;/b&gt;" in r.content


def test_other_merchants_order_page_is_404(shop, merchant_b):
    _, o1, _ = shop
    assert merchant_b.web.get(f"/orders/{o1.pk}/").status_code == 404
    assert merchant_b.web.post(f"/orders/{o1.pk}/cancel/").status_code == 404


def test_bulk_hold_and_tag(shop):
    tenant, o1, o2 = shop
    r = tenant.web.post("/orders/bulk/", {"ids": [o1.pk, o2.pk], "action": "tag", "tag": "Wholesale"})
    assert r.status_code == 302
    r = tenant.web.post("/orders/bulk/", {"ids": [o1.pk], "action": "hold"})
    with tenant_scope(tenant.merchant):
        assert sorted(OrderTag.objects.filter(merchant=tenant.merchant).values_list("order_id", "name")) == [
            (o1.pk, "wholesale"), (o2.pk, "wholesale")]
        assert Order.objects.get(pk=o1.pk).status == OrderStatus.ON_HOLD


def test_ship_from_the_order_page(shop):
    tenant, o1, _ = shop
    line = o1.lines.model.objects
    with tenant_scope(tenant.merchant):
        line_id = line.get(order=o1).pk
    r = tenant.web.post(f"/orders/{o1.pk}/ship/", {f"qty_{line_id}": "2", "carrier": "UPS", "tracking_number": "1Z",
                                                   "ship_now": "on"})
    assert r.status_code == 302
    with tenant_scope(tenant.merchant):
        assert Order.objects.get(pk=o1.pk).status == OrderStatus.FULFILLED


def test_manual_order_form(shop):
    tenant, _, _ = shop
    assert tenant.web.get("/orders/new/").status_code == 200
    data = {"form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "0", "form-MIN_NUM_FORMS": "1", "form-MAX_NUM_FORMS": "200",
            "form-0-sku": "A-1", "form-0-quantity": "3", "form-0-unit_price": "5.00", "customer_email": "x@y.z",
            "currency": "USD"}
    r = tenant.web.post("/orders/new/", data)
    assert r.status_code == 302
    with tenant_scope(tenant.merchant):
        order = Order.objects.get(merchant=tenant.merchant, channel="manual")
        assert (order.total_amount, order.lines.get().quantity_reserved) == (15, 3)
    data["form-0-quantity"] = "1000"
    r = tenant.web.post("/orders/new/", data)
    assert r.status_code == 400 and b"Not enough stock of A-1" in r.content


def test_csv_export_streams_the_filtered_list(shop):
    tenant, _, _ = shop
    r = tenant.web.get("/orders/export.csv?needs_attention=true")
    assert r.status_code == 200 and r.streaming
    body = b"".join(r.streaming_content).decode()
    rows = body.strip().splitlines()
    assert rows[0].startswith("id,number,channel") and len(rows) == 2 and "#2" in rows[1]


def test_analytics_and_notifications_pages(shop):
    tenant, _, _ = shop
    r = tenant.web.get("/orders/analytics/?from=2026-10-01&to=2026-11-30")
    assert r.status_code == 200 and b"<svg" in r.content and b"cdn" not in r.content.lower()
    r = tenant.web.post("/orders/notifications/", {"new_order_mode": "digest", "recipients": "a@x.com, b@x.com"})
    assert r.status_code == 302
    with tenant_scope(tenant.merchant):
        prefs = notification_settings_get(merchant=tenant.merchant)
        assert (prefs.new_order_mode, prefs.recipients, prefs.notify_sync_failure) == ("digest", "a@x.com, b@x.com", False)


def test_csv_export_neutralises_spreadsheet_formulas_from_channel_data(merchant_a):
    # given a channel order whose customer name and SKU are spreadsheet formulas (buyer-controlled text)
    import csv
    import io

    m = merchant_a.merchant
    with tenant_scope(m):
        services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "7", lines=(("L", "=1+1", 1),), customer_name='=HYPERLINK("http://evil.example","x")',
            customer_email="@SUM(A1)"))
    # when the list is exported
    r = merchant_a.web.get("/orders/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
    # then no text cell starts with a formula character; numbers are untouched
    assert rows[0]["customer_name"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert rows[0]["customer_email"] == "'@SUM(A1)"
    assert rows[0]["lines"] == "1x=1+1"
    assert rows[0]["total"] == "10.00"
