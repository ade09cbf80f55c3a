"""The orders API: fixed shapes, 409s, tenant isolation, constant queries per page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.tenancy import tenant_scope
from inventory.models import Product
from orders import services
from orders.models import Order, OrderLine, OrderStatus
from orders.selectors import OrderFilters
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import T0, level, normalized

pytestmark = pytest.mark.django_db


def test_create_manual_order_fixed_shape(merchant_a):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "A-1", on_hand=5)
    # when
    r = merchant_a.api.post("/api/v1/orders/", {"lines": [{"sku": "A-1", "quantity": 2, "unit_price": "9.50"}],
                                                "customer_email": "a@b.c", "currency": "USD"}, format="json")
    # then
    assert r.status_code == 201, r.content
    body = r.json()
    assert {"id", "number", "status", "lines"} <= set(body)
    assert body["status"] == "unfulfilled" and body["channel"] == "manual" and body["total"] == "19.00"
    assert [(li["sku"], li["quantity"], li["quantity_reserved"], li["unit_price"]) for li in body["lines"]] == [
        ("A-1", 2, 2, "9.50")]


def test_manual_order_that_cannot_be_reserved_is_409_and_changes_nothing(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=5)
        make_product(m, "B-1", on_hand=1)
    r = merchant_a.api.post("/api/v1/orders/", {"lines": [{"sku": "A-1", "quantity": 2, "unit_price": "9.50"},
                                                          {"sku": "B-1", "quantity": 3, "unit_price": "1.00"}],
                                                "customer_email": "a@b.c", "currency": "USD"}, format="json")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "out_of_stock"
    # the line it concerns is named (by index and row), so a client can show it there
    assert r.json()["error"]["details"] == {"sku": "B-1", "requested": 3, "available": 1, "lines": [
        {"index": 1, "row": 2, "field": "quantity", "message": "Only 1 of B-1 available."}]}
    with tenant_scope(m):
        assert Order.objects.filter(merchant=m).count() == 0
        assert OrderLine.objects.filter(merchant=m).count() == 0
        assert level(m, a).reserved == 0


def test_manual_order_unknown_sku_is_400(merchant_a):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "A-1", on_hand=5)
    r = merchant_a.api.post("/api/v1/orders/", {"lines": [{"sku": "a-1", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]},
                            format="json")
    assert r.status_code == 400
    assert r.json()["error"] == {"code": "unknown_sku", "message": "Unknown SKU: NOPE.",
                                 "details": {"sku": "NOPE", "skus": ["NOPE"], "index": 1, "row": 2}}
    with tenant_scope(merchant_a.merchant):
        assert Order.objects.filter(merchant=merchant_a.merchant).count() == 0


def test_illegal_transition_is_409_with_current_and_requested(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    assert merchant_a.api.post(f"/api/v1/orders/{order.pk}/cancel/", {"reason": "x"}, format="json").status_code == 200
    # when a cancelled order is put on hold
    r = merchant_a.api.post(f"/api/v1/orders/{order.pk}/hold/", {}, format="json")
    # then
    assert r.status_code == 409
    assert r.json() == {"error": {"code": "illegal_transition", "message": "An order that is cancelled cannot become on hold.",
                                  "details": {"current": "cancelled", "requested": "on_hold"}}}
    with tenant_scope(m):
        assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_shipments_endpoint_ships_by_sku_and_returns_201(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=5)
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    r = merchant_a.api.post(f"/api/v1/orders/{order.pk}/shipments/", {
        "lines": [{"sku": "A-1", "quantity": 1}], "carrier": "UPS", "tracking_number": "1Z999"}, format="json")
    assert r.status_code == 201, r.content
    assert (r.json()["status"], r.json()["tracking_number"], r.json()["lines"][0]["quantity"]) == ("shipped", "1Z999", 1)
    detail = merchant_a.api.get(f"/api/v1/orders/{order.pk}/").json()
    assert detail["status"] == "partially_fulfilled"
    assert [e["kind"] for e in detail["events"]][:2] == ["received", "reserved"]
    with tenant_scope(m):
        assert (level(m, a).on_hand, level(m, a).reserved) == (4, 1)


def test_patch_edits_tags_and_notes_only(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    r = merchant_a.api.patch(f"/api/v1/orders/{order.pk}/", {"tags": ["VIP", "gift"], "notes": "call first",
                                                              "status": "fulfilled"}, format="json")
    assert r.status_code == 200
    assert (r.json()["tags"], r.json()["notes"], r.json()["status"]) == (["gift", "vip"], "call first", "unfulfilled")
    listed = merchant_a.api.get("/api/v1/orders/?tag=vip").json()["results"]
    assert [o["id"] for o in listed] == [order.pk]


def test_list_filters_and_shape(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=100)
        shop, other_shop = make_integration(m, name="Shop 1"), make_integration(m, name="Shop 2")
        services.order_ingest(merchant=m, integration_id=shop.pk, normalized=normalized("1", lines=(("L", "A-1", 1),)))
        services.order_ingest(merchant=m, integration_id=other_shop.pk, normalized=normalized(
            "2", lines=(("L", "B-2", 1),), channel="amazon", customer_name="Grace Hopper",
            customer_email="grace@navy.mil", placed_at=T0 + timedelta(days=1)))
    with tenant_scope(merchant_b.merchant):
        services.order_ingest(merchant=merchant_b.merchant, integration_id=None, normalized=normalized("9"))

    def ids(query):
        r = merchant_a.api.get(f"/api/v1/orders/{query}")
        assert r.status_code == 200, r.content
        return [o["external_id"] for o in r.json()["results"]]

    assert ids("") == ["2", "1"]
    assert ids("?channel=amazon") == ["2"]
    assert ids("?sku=a-1") == ["1"]
    assert ids("?search=grace") == ["2"]
    assert ids("?search=grace@navy.mil") == ["2"]
    assert ids("?needs_attention=true") == ["2"]
    assert ids(f"?status=unfulfilled&integration={shop.pk}") == ["1"]
    assert ids("?placed_from=2026-11-02&placed_to=2026-11-02") == ["2"]
    first = merchant_a.api.get("/api/v1/orders/").json()
    assert set(first) == {"next", "previous", "results"}
    o = first["results"][1]
    assert {"channel", "external_id", "status", "total", "currency", "lines"} <= set(o)
    assert o["lines"] == [{**o["lines"][0], "sku": "A-1", "quantity": 1, "quantity_reserved": 1}]
    assert merchant_a.api.get("/api/v1/orders/?status=bogus").status_code == 400
    assert merchant_b.api.get(f"/api/v1/orders/{Order.objects.model.__name__}/").status_code == 404


def test_another_merchants_order_is_404(merchant_a, merchant_b):
    with tenant_scope(merchant_a.merchant):
        order = services.order_ingest(merchant=merchant_a.merchant, integration_id=None, normalized=normalized()).order
    for method, url in [("get", f"/api/v1/orders/{order.pk}/"), ("post", f"/api/v1/orders/{order.pk}/cancel/"),
                        ("post", f"/api/v1/orders/{order.pk}/hold/"), ("patch", f"/api/v1/orders/{order.pk}/"),
                        ("post", f"/api/v1/orders/{order.pk}/shipments/")]:
        r = getattr(merchant_b.api, method)(url, {}, format="json")
        assert r.status_code == 404, (method, url, r.status_code)
    with tenant_scope(merchant_a.merchant):
        assert Order.objects.get(pk=order.pk).status == OrderStatus.UNFULFILLED


def _orders(merchant, n: int) -> None:
    with tenant_scope(merchant):
        make_product(merchant, "A-1", on_hand=10_000)
        for i in range(n):
            services.order_ingest(merchant=merchant, integration_id=None, normalized=normalized(
                str(i), lines=(("L1", "A-1", 1), ("L2", "UNKNOWN", 2)), placed_at=T0 + timedelta(minutes=i)))
            if i % 3 == 0:
                services.order_update(merchant=merchant, order=Order.objects.get(merchant=merchant, external_id=str(i)),
                                      tags=["vip", "b2b"])


def test_list_query_count_does_not_grow_with_page_size(merchant_a, django_assert_max_num_queries):
    _orders(merchant_a.merchant, 30)
    merchant_a.api.get("/api/v1/orders/?page_size=1")  # warm up: the token's last-used stamp is written once
    # a page of 2 and a page of 30 cost the same number of queries (auth + orders + lines + tags)
    with django_assert_max_num_queries(6) as small:
        r = merchant_a.api.get("/api/v1/orders/?page_size=2")
    small_count = len(small.captured_queries)  # read now: the next request resets Django's query log
    assert r.status_code == 200 and len(r.json()["results"]) == 2
    with django_assert_max_num_queries(small_count) as big:
        r = merchant_a.api.get("/api/v1/orders/?page_size=30")
    big_count = len(big.captured_queries)
    assert r.status_code == 200 and len(r.json()["results"]) == 30
    assert big_count == small_count
    # and following the cursor costs the same
    nxt = merchant_a.api.get("/api/v1/orders/?page_size=10").json()["next"]
    with django_assert_max_num_queries(small_count):
        page2 = merchant_a.api.get(nxt)
    assert len(page2.json()["results"]) == 10


def test_analytics_endpoints(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=100)
        o = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "1", lines=(("L", "A-1", 3),), placed_at=T0, shipping=__import__("decimal").Decimal("4.99"))).order
        services.order_fulfill_all(merchant=m, order=o)
    q = "?from=2026-11-01&to=2026-11-02"
    rev = merchant_a.api.get("/api/v1/analytics/revenue/" + q).json()
    assert rev["currency"] == "USD" and rev["total_orders"] == 1 and rev["total_revenue"] == "30.00"
    assert rev["days"][0] == {"date": "2026-11-01", "channels": {"shopify": {"revenue": "30.00", "orders": 1}}}
    top = merchant_a.api.get("/api/v1/analytics/top-skus/" + q).json()
    assert top["by_units"] == [{"sku": "A-1", "units": 3, "revenue": "30.00"}]
    ship = merchant_a.api.get("/api/v1/analytics/shipping-cost/" + q).json()
    assert (ship["shipping_charged"], ship["label_spend"]) == ("4.99", "0.00")
    assert merchant_a.api.get("/api/v1/analytics/fulfillment-time/" + q).json()["orders"] == 1
    ages = merchant_a.api.get("/api/v1/analytics/unfulfilled-age/").json()["buckets"]
    assert [b["bucket"] for b in ages] == ["under_1_day", "1_to_2_days", "2_to_3_days", "over_3_days"]
    assert merchant_a.api.get("/api/v1/analytics/short-orders/" + q).json()["went_short"] == 0
    assert merchant_a.api.get("/api/v1/analytics/revenue/?from=2026-12-01&to=2026-11-01").status_code == 400


def test_map_sku_endpoint_reserves(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=5)
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L", "a1", 2),))).order
        line = OrderLine.objects.get(merchant=m)
    r = merchant_a.api.post(f"/api/v1/orders/{order.pk}/map-sku/", {"line": line.pk, "sku": "A-1"}, format="json")
    assert r.status_code == 200 and r.json()["needs_attention"] is False
    with tenant_scope(m):
        assert level(m, a).reserved == 2
        assert Product.objects.filter(merchant=m).count() == 1


def test_bulk_endpoint_reports_each_order(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        ok = services.order_ingest(merchant=m, integration_id=None, normalized=normalized("1")).order
        unmapped = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "2", lines=(("L", "NOPE", 1),))).order
    r = merchant_a.api.post("/api/v1/orders/bulk/", {"ids": [ok.pk, unmapped.pk, 999999], "action": "fulfill",
                                                     "reason": "shipped outside"},
                            format="json")
    assert r.status_code == 200
    assert r.json()["done"] == [ok.pk]
    assert [(f["id"], f["code"]) for f in r.json()["failed"]] == [(unmapped.pk, "sku_not_mapped"), (999999, "not_found")]
    with tenant_scope(m):
        assert Order.objects.get(pk=ok.pk).status == OrderStatus.FULFILLED
        assert Order.objects.get(pk=unmapped.pk).status == OrderStatus.UNFULFILLED


def test_hold_then_release_through_the_api(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    r = merchant_a.api.post(f"/api/v1/orders/{order.pk}/hold/", {"reason": "fraud check"}, format="json")
    assert (r.status_code, r.json()["status"], r.json()["hold_reason"]) == (200, "on_hold", "fraud check")
    r = merchant_a.api.post(f"/api/v1/orders/{order.pk}/shipments/", {}, format="json")
    assert (r.status_code, r.json()["error"]["details"]) == (409, {"current": "on_hold", "requested": "partially_fulfilled"})
    r = merchant_a.api.post(f"/api/v1/orders/{order.pk}/release-hold/", {}, format="json")
    assert (r.status_code, r.json()["status"]) == (200, "unfulfilled")


def test_shipments_default_skips_pending_units_and_a_pending_shipment_cancels_with_204(merchant_a, merchant_b):
    # given 2 of an order's 3 units in a pending shipment
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            lines=(("L1", "A-1", 3),))).order
    r = merchant_a.api.post(f"/api/v1/orders/{order.pk}/shipments/",
                            {"lines": [{"sku": "A-1", "quantity": 2}], "ship": False}, format="json")
    assert r.status_code == 201, r.content
    pending_id = r.json()["id"]
    # when "ship everything left" is asked, the new parcel holds the 1 unit left (not 3, refused)
    r = merchant_a.api.post(f"/api/v1/orders/{order.pk}/shipments/", {}, format="json")
    assert r.status_code == 201, r.content
    assert [li["quantity"] for li in r.json()["lines"]] == [1]
    shipped_id = r.json()["id"]
    # another merchant cannot cancel it; a shipped one is 409; the pending one is 204 and gone
    assert merchant_b.api.post(f"/api/v1/shipments/{pending_id}/cancel/").status_code == 404
    r = merchant_a.api.post(f"/api/v1/shipments/{shipped_id}/cancel/")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "shipment_already_shipped")
    r = merchant_a.api.post(f"/api/v1/shipments/{pending_id}/cancel/")
    assert r.status_code == 204
    assert merchant_a.api.get(f"/api/v1/shipments/{pending_id}/").status_code == 404
    with tenant_scope(m):
        assert (level(m, a).on_hand, level(m, a).reserved) == (9, 2)
    # then its units can be shipped again
    r = merchant_a.api.post(f"/api/v1/orders/{order.pk}/shipments/", {}, format="json")
    assert (r.status_code, [li["quantity"] for li in r.json()["lines"]]) == (201, [2])
    assert merchant_a.api.get(f"/api/v1/orders/{order.pk}/").json()["status"] == "fulfilled"


# -- bad input is a 4xx in the error shape, never a 500 ----------------------------------------------


def test_return_with_a_body_that_is_not_an_object_is_400_and_changes_nothing(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized("1")).order
    r = merchant_a.api.post(f"/api/v1/orders/{order.pk}/return/", ["restock"], format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"
    with tenant_scope(m):
        assert Order.objects.get(pk=order.pk).status == OrderStatus.UNFULFILLED
    r = merchant_a.api.post("/api/v1/orders/0/return/", ["restock"], format="json")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/orders/abc/", "/api/v1/orders/\u00b2/", "/api/v1/shipments/\u00b2/ship/",
                                  "/api/v1/orders/99999999999999999999/", "/api/v1/orders/0/"])
def test_ids_in_paths_that_are_not_ids_are_404_in_the_error_shape(merchant_a, path):
    r = merchant_a.api.post(path, {}, format="json") if path.endswith("ship/") else merchant_a.api.get(path)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", ["integration=\u00b2", "integration=99999999999999999999", "search=a%00b",
                                   "tag=a%00b", "sku=a%00b", "placed_to=0001-01-01", "placed_from=9999-12-31",
                                   "placed_from=2026-13-01", "cursor=cD1hYmM%3D", "cursor=bz3Csg%3D%3D"])
def test_bad_list_filters_are_400_not_500(merchant_a, query):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "A-1", on_hand=5)
        services.order_ingest(merchant=merchant_a.merchant, integration_id=None, normalized=normalized("1"))
    r = merchant_a.api.get(f"/api/v1/orders/?{query}")
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] in ("validation_failed", "invalid_cursor")


@pytest.mark.parametrize("query", ["to=0001-01-01", "from=9999-12-31", "from=0001-01-01&to=0001-01-02",
                                   "to=\u00b2\u00b2\u00b2\u00b2-01-01"])
def test_analytics_dates_at_the_edges_of_the_calendar_are_400(merchant_a, query):
    r = merchant_a.api.get(f"/api/v1/analytics/revenue/?{query}")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"


@pytest.mark.parametrize("body", [
    {"lines": [{"sku": "A-1", "quantity": 100000, "unit_price": "9999999999.99"}]},
    {"lines": [{"sku": "A-1", "quantity": 1, "unit_price": "1.00"}], "shipping": "9999999999.99",
     "tax": "9999999999.99"},
])
def test_manual_order_whose_total_overflows_the_money_column_is_400_and_creates_nothing(merchant_a, body):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=100000)
    r = merchant_a.api.post("/api/v1/orders/", body, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"
    assert r.json()["error"]["details"] == {"field": "total"}
    with tenant_scope(m):
        assert Order.objects.filter(merchant=m).count() == 0
        assert level(m, a).reserved == 0


def test_store_is_the_filters_one_name_and_integration_its_old_spelling(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        shop, other_shop = make_integration(m, name="Shop 1"), make_integration(m, name="Shop 2")
        services.order_ingest(merchant=m, integration_id=shop.pk, normalized=normalized("1"))
        services.order_ingest(merchant=m, integration_id=other_shop.pk, normalized=normalized("2"))

    by_store = merchant_a.api.get(f"/api/v1/orders/?store={shop.pk}")
    by_old_name = merchant_a.api.get(f"/api/v1/orders/?integration={shop.pk}")
    both_same = merchant_a.api.get(f"/api/v1/orders/?store={shop.pk}&integration={shop.pk}")
    both_different = merchant_a.api.get(f"/api/v1/orders/?store={shop.pk}&integration={other_shop.pk}")
    page = merchant_a.web.get(f"/orders/?tab=all&integration={other_shop.pk}")

    assert [o["external_id"] for o in by_store.json()["results"]] == ["1"]
    assert [o["external_id"] for o in by_old_name.json()["results"]] == ["1"]
    assert [o["external_id"] for o in both_same.json()["results"]] == ["1"]
    assert both_different.status_code == 400
    assert both_different.json()["error"]["code"] == "validation_failed"
    assert both_different.json()["error"]["details"] == {"field": "integration"}
    assert OrderFilters.from_params({"integration": str(shop.pk)}).as_query() == {"store": str(shop.pk)}
    # the page shows the old spelling as the store it means, and links onward with the one name
    assert f'<option value="{other_shop.pk}" selected>Shop 2 (Shopify)</option>'.encode() in page.content
    assert f'name="filter" value="tab=all&amp;store={other_shop.pk}"'.encode() in page.content


def test_all_matching_reads_the_same_filters_on_the_page_and_in_the_api(merchant_a,
                                                                        django_capture_on_commit_callbacks):
    m = merchant_a.merchant
    with tenant_scope(m):
        shop = make_integration(m, name="Shop 1")
        services.order_ingest(merchant=m, integration_id=shop.pk, normalized=normalized("1"))
        services.order_ingest(merchant=m, integration_id=None, normalized=normalized("2"))

    with django_capture_on_commit_callbacks(execute=True):  # the jobs run in-process
        api = merchant_a.api.post("/api/v1/orders/bulk/", {"action": "tag", "tag": "api", "all_matching": {
            "integration": str(shop.pk)}}, format="json")
        page = merchant_a.web.post("/orders/bulk/", {"action": "tag", "tag": "page", "scope": "all",
                                                     "filter": f"store={shop.pk}"})
    bad = merchant_a.api.post("/api/v1/orders/bulk/", {"action": "tag", "tag": "x", "all_matching": {
        "store": "nope"}}, format="json")

    assert (api.status_code, api.json()["orders"]) == (202, 1)
    assert page.status_code == 302
    with tenant_scope(m):
        tagged = {o.external_id: sorted(t.name for t in o.tag_rows.all())
                  for o in Order.objects.filter(merchant=m).prefetch_related("tag_rows")}
    assert tagged == {"1": ["api", "page"], "2": []}
    assert (bad.status_code, bad.json()["error"]["details"]["field"]) == (400, "store")
