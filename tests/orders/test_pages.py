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
    r = tenant.web.get("/orders/?tab=all")
    assert r.status_code == 200
    assert b"#1" in r.content and b"#2" in r.content
    # The queue opens on "awaiting shipment": the order with an unknown SKU waits in its own tab
    r = tenant.web.get("/orders/")
    assert b'value="%d"' % o1.pk in r.content and b'value="%d"' % o2.pk not in r.content
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
            "currency": "USD", "address-line1": "1 Main St", "address-city": "Leeds", "address-country": "GB",
            "address-postal_code": "LS1 4AP"}
    r = tenant.web.post("/orders/new/", data)
    assert r.status_code == 302
    with tenant_scope(tenant.merchant):
        order = Order.objects.get(merchant=tenant.merchant, channel="manual")
        assert (order.total_amount, order.lines.get().quantity_reserved) == (15, 3)
    data["form-0-quantity"] = "1000"
    r = tenant.web.post("/orders/new/", data)
    assert r.status_code == 400  # the line is flagged on its own row
    assert b"of A-1 available." in r.content.split(b'name="form-0-quantity"')[1].split(b"</tr>")[0]


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


def test_ship_form_offers_only_units_no_pending_shipment_holds_and_a_pending_shipment_can_be_cancelled(shop):
    # given order 1 (2 × A-1) with 1 unit in a pending shipment
    tenant, o1, _ = shop
    m = tenant.merchant
    with tenant_scope(m):
        line = o1.lines.get()
        pending = services.shipment_create(merchant=m, order=o1, lines=[services.ShipmentLineRequest(line.pk, 1)],
                                           ship=False)
    # when the page is shown, the form offers and pre-fills the 1 unit left, and the parcel has a cancel button
    r = tenant.web.get(f"/orders/{o1.pk}/")
    html = r.content.decode()
    assert f'name="qty_{line.pk}" min="0" max="1" value="1"' in html
    assert f'action="/orders/shipments/{pending.pk}/cancel/"' in html
    # and shipping what it pre-fills works (it used to pre-fill 2 and refuse: "Only 1 ... left")
    r = tenant.web.post(f"/orders/{o1.pk}/ship/", {f"qty_{line.pk}": "1", "ship_now": "on"})
    assert r.status_code == 302
    # when the pending parcel is cancelled from the page, its unit is offered again
    r = tenant.web.post(f"/orders/shipments/{pending.pk}/cancel/")
    assert (r.status_code, r["Location"]) == (302, f"/orders/{o1.pk}/")
    html = tenant.web.get(f"/orders/{o1.pk}/").content.decode()
    assert f'name="qty_{line.pk}" min="0" max="1" value="1"' in html
    assert "/cancel/" not in html.split("<h2>Shipments</h2>")[1]
    with tenant_scope(m):
        assert list(o1.shipments.values_list("status", flat=True)) == ["shipped"]


@pytest.mark.parametrize("next_url", ["//evil.example/", "https://evil.example/orders/", "/\\evil.example",
                                      "javascript:alert(1)"])
def test_bulk_action_never_redirects_off_site(shop, next_url):
    tenant, o1, _ = shop
    r = tenant.web.post("/orders/bulk/", {"ids": [o1.pk], "action": "hold", "next": next_url})
    assert r.status_code == 302 and r["Location"] == "/orders/"


def test_bulk_action_returns_to_the_filtered_list(shop):
    tenant, o1, _ = shop
    r = tenant.web.post("/orders/bulk/", {"ids": [o1.pk], "action": "hold", "next": "/orders/?status=on_hold"})
    assert r.status_code == 302 and r["Location"] == "/orders/?status=on_hold"


def test_export_with_an_unknown_filter_value_is_400_naming_it(shop):
    tenant, _, _ = shop
    r = tenant.web.get("/orders/export.csv?status=lost")
    assert r.status_code == 400
    assert b"Unknown status." in r.content


def test_list_with_one_bad_filter_names_it_and_keeps_the_others(shop):
    tenant, o1, o2 = shop
    r = tenant.web.get("/orders/?status=lost&needs_attention=on")
    assert r.status_code == 200
    assert b"Unknown status." in r.content
    # needs_attention still applies: only the order with the unmatched SKU is listed
    assert b"Grace Hopper" in r.content and b'value="%d"' % o1.pk not in r.content


@pytest.mark.parametrize("query", ["integration=%C2%B2", "placed_to=0001-01-01", "sku=a%00b", "after=%00"])
def test_list_and_export_refuse_bad_values_without_a_500(shop, query):
    tenant, _, _ = shop
    assert tenant.web.get(f"/orders/?{query}").status_code == 200  # named in a message, the rest applied
    r = tenant.web.get(f"/orders/export.csv?{query}")
    if query.startswith("after"):  # the export has no cursor: it is ignored
        assert r.status_code == 200
    else:
        assert r.status_code == 400


def test_manual_order_form_refuses_amounts_beyond_the_money_column(shop):
    tenant, _, _ = shop
    data = {"customer_name": "Ada", "currency": "USD", "shipping": "9999999999.99", "tax": "9999999999.99",
            "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "0", "form-MIN_NUM_FORMS": "1",
            "form-MAX_NUM_FORMS": "200", "form-0-sku": "A-1", "form-0-quantity": "1", "form-0-unit_price": "1.00",
            "address-line1": "1 Main St", "address-city": "Leeds", "address-country": "GB",
            "address-postal_code": "LS1 4AP"}
    with tenant_scope(tenant.merchant):
        before = Order.objects.filter(merchant=tenant.merchant).count()
    r = tenant.web.post("/orders/new/", data)
    assert r.status_code == 400
    assert b"total must be less than" in r.content
    data["shipping"] = "123456789012345"
    r = tenant.web.post("/orders/new/", data)
    assert r.status_code == 400
    with tenant_scope(tenant.merchant):
        assert Order.objects.filter(merchant=tenant.merchant).count() == before


def test_the_timeline_logs_a_cancelled_shipment_as_cancelled_and_status_changes_in_labels(shop):
    tenant, o1, _ = shop
    m = tenant.merchant
    with tenant_scope(m):
        line = o1.lines.get()
        services.shipment_create(merchant=m, order=o1, lines=[services.ShipmentLineRequest(line.pk, 1)])
        pending = services.shipment_create(merchant=m, order=o1, lines=[services.ShipmentLineRequest(line.pk, 1)],
                                           ship=False)
    tenant.web.post(f"/orders/shipments/{pending.pk}/cancel/")

    timeline = tenant.web.get(f"/orders/{o1.pk}/").content.decode().split("<h2>Timeline</h2>")[1]

    assert (f"<strong>Shipment cancelled</strong> · Shipment {pending.pk} cancelled before it shipped (1 unit)"
            in timeline)
    assert "Unfulfilled → Partially fulfilled" in timeline
    assert "partially_fulfilled" not in timeline and "unit(s)" not in timeline
    assert "2 units reserved" in timeline


def test_a_status_change_recorded_with_codes_reads_in_labels(shop):
    """Events written before the timeline said labels ("on_hold → unfulfilled") read in labels too."""
    from orders.models import OrderEvent

    tenant, o1, _ = shop
    with tenant_scope(tenant.merchant):
        OrderEvent.objects.create(merchant=tenant.merchant, order=o1, kind=OrderEvent.Kind.STATUS,
                                  message="awaiting_payment → unfulfilled (paid on the channel)",
                                  data={"from": "awaiting_payment", "to": "unfulfilled"})
    html = tenant.web.get(f"/orders/{o1.pk}/").content.decode()
    assert "Awaiting payment → Unfulfilled (paid on the channel)" in html
    assert "awaiting_payment" not in html.split("<h2>Timeline</h2>")[1].split("<h2>Raw payload</h2>")[0]


def test_order_page_names_its_store_with_a_link_not_a_raw_id(merchant_a):
    from tests.integrations.helpers import make_integration

    m = merchant_a.merchant
    with tenant_scope(m):
        store = make_integration(m, name="Harbour shop")
        order = services.order_ingest(merchant=m, integration_id=store.pk, normalized=normalized("77")).order
    page = merchant_a.web.get(f"/orders/{order.pk}/").content.decode()
    assert f'store <a href="/integrations/{store.pk}/">Harbour shop (Shopify)</a>' in page
    assert f"integration {store.pk}" not in page
