"""The inventory API with the fixed shapes from the issue; clients hold no scope (the middleware does)."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from inventory import services
from inventory.models import StockLevel, StockMovement
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db


def test_create_product_then_adjust_then_read_levels(merchant_a):
    # when a product is created
    r = merchant_a.api.post("/api/v1/products/", {"sku": "A-1", "title": "Mug"}, format="json")
    assert r.status_code == 201
    assert {k: r.json()[k] for k in ("sku", "title")} == {"sku": "A-1", "title": "Mug"}
    assert isinstance(r.json()["id"], int)
    # and stock is received through the bulk adjustments endpoint
    r = merchant_a.api.post(
        "/api/v1/inventory/adjustments/", {"adjustments": [{"sku": "A-1", "delta": 10, "reason": "received"}]},
        format="json",
    )
    assert r.status_code == 201, r.json()
    assert r.json()["applied"] == 1
    # then the level reads back with the fixed shape
    r = merchant_a.api.get("/api/v1/stock-levels/?sku=A-1")
    assert r.status_code == 200
    rows = [{k: row[k] for k in ("sku", "location", "on_hand", "reserved", "available")} for row in r.json()["results"]]
    assert rows == [{"sku": "A-1", "location": "MAIN", "on_hand": 10, "reserved": 0, "available": 10}]
    r = merchant_a.api.get("/api/v1/stock-movements/?sku=a-1")
    assert [(m["reason"], m["on_hand_delta"], m["actor"]) for m in r.json()["results"]] == [
        ("received", 10, "alice@a.example")
    ]


def test_duplicate_sku_differs_only_in_case_is_refused(merchant_a):
    assert merchant_a.api.post("/api/v1/products/", {"sku": "A-1", "title": "Mug"}, format="json").status_code == 201
    r = merchant_a.api.post("/api/v1/products/", {"sku": "a-1", "title": "Mug 2"}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "duplicate_sku"


def test_bundle_created_through_api_reports_component_availability(merchant_a):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "A", on_hand=9)
        make_product(merchant_a.merchant, "B", on_hand=2)
    r = merchant_a.api.post("/api/v1/products/", {"sku": "KIT", "title": "Kit", "components": [
        {"sku": "a", "quantity": 2}, {"sku": "B", "quantity": 1}]}, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["is_bundle"] is True
    assert r.json()["available"] == 2
    assert [(c["sku"], c["quantity"]) for c in r.json()["components"]] == [("A", 2), ("B", 1)]


def test_an_invalid_row_is_named_and_nothing_is_applied(merchant_a):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "A-1", on_hand=5)
    body = {"adjustments": [
        {"sku": "A-1", "delta": 3}, {"sku": "NOPE", "delta": 1}, {"sku": "A-1", "delta": 2},
    ]}
    r = merchant_a.api.post("/api/v1/inventory/adjustments/", body, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "unknown_sku"
    assert r.json()["error"]["details"]["row"] == 2
    r = merchant_a.api.post("/api/v1/inventory/adjustments/", {"adjustments": [
        {"sku": "A-1", "delta": 3}, {"sku": "A-1"}]}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["details"]["row"] == 2
    with tenant_scope(merchant_a.merchant):
        assert StockLevel.objects.get(merchant=merchant_a.merchant).on_hand == 5
        assert StockMovement.objects.filter(merchant=merchant_a.merchant).count() == 1


def test_removing_more_than_available_is_409_out_of_stock(merchant_a):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "A-1", on_hand=5)
    r = merchant_a.api.post("/api/v1/inventory/adjustments/", {"adjustments": [
        {"sku": "A-1", "delta": 1}, {"sku": "A-1", "delta": -9}]}, format="json")
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "out_of_stock"
    assert {k: err["details"][k] for k in ("sku", "requested", "available", "row")} == {
        "sku": "A-1", "requested": 9, "available": 6, "row": 2}
    with tenant_scope(merchant_a.merchant):
        assert StockLevel.objects.get(merchant=merchant_a.merchant).on_hand == 5


def test_more_than_1000_adjustments_are_refused(merchant_a):
    r = merchant_a.api.post("/api/v1/inventory/adjustments/", {"adjustments": [
        {"sku": "A-1", "delta": 1}] * 1001}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "validation_failed"


def test_other_merchants_objects_are_404_and_lists_empty(merchant_a, merchant_b):
    with tenant_scope(merchant_a.merchant):
        p = make_product(merchant_a.merchant, "A-1", on_hand=5)
        level = StockLevel.objects.get(merchant=merchant_a.merchant, product=p)
    assert merchant_b.api.get(f"/api/v1/products/{p.pk}/").status_code == 404
    assert merchant_b.api.get(f"/api/v1/stock-levels/{level.pk}/").status_code == 404
    assert merchant_b.api.patch(f"/api/v1/products/{p.pk}/", {"title": "x"}, format="json").status_code == 404
    assert merchant_b.api.get("/api/v1/stock-levels/?sku=A-1").json()["results"] == []
    assert merchant_b.api.get("/api/v1/products/").json()["results"] == []
    r = merchant_b.api.post("/api/v1/inventory/adjustments/", {"adjustments": [{"sku": "A-1", "delta": 1}]},
                            format="json")
    assert r.status_code == 400
    with tenant_scope(merchant_a.merchant):
        assert StockLevel.objects.get(pk=level.pk).on_hand == 5


def test_locations_list_and_create(merchant_a):
    r = merchant_a.api.post("/api/v1/locations/", {"name": "Shop floor", "code": "shop"}, format="json")
    assert r.status_code == 201
    r = merchant_a.api.get("/api/v1/locations/")
    assert [(loc["code"], loc["is_default"]) for loc in r.json()["results"]] == [("MAIN", True), ("SHOP", False)]


@pytest.mark.parametrize("path", ["/api/v1/products/abc/", "/api/v1/locations/abc/", "/api/v1/products/%C2%B2/",
                                  "/api/v1/locations/99999999999999999999/"])
def test_patch_with_an_id_that_is_not_one_is_404_in_the_error_shape(merchant_a, path):
    r = merchant_a.api.patch(path, {"name": "x", "title": "x"}, format="json")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", ["location=a%00b", "product=%C2%B2", "product=99999999999999999999",
                                   "sku=A%00", "cursor=cD1hYmM%3D"])
def test_stock_level_filters_refuse_bad_values_with_400(merchant_a, query):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "A-1", on_hand=5)
    r = merchant_a.api.get(f"/api/v1/stock-levels/?{query}")
    assert r.status_code == 400 and r.json()["error"]["code"] in ("validation_failed", "invalid_cursor")


@pytest.mark.parametrize("query", ["reference=a%00b", "sku=a%00b", "product=%C2%B2"])
def test_stock_movement_filters_refuse_bad_values_with_400(merchant_a, query):
    r = merchant_a.api.get(f"/api/v1/stock-movements/?{query}")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"


def test_location_by_id_or_code_in_filters_and_adjustments(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        p = make_product(m, "A-1", on_hand=5)
        shop = services.location_create(merchant=m, name="Shop floor", code="SHOP")
    r = merchant_a.api.post("/api/v1/inventory/adjustments/", {"adjustments": [
        {"sku": "A-1", "delta": 2, "location": str(shop.pk)}, {"sku": "A-1", "delta": 1, "location": "shop"}]},
        format="json")
    assert r.status_code == 201
    by_id = merchant_a.api.get(f"/api/v1/stock-levels/?location={shop.pk}").json()["results"]
    by_code = merchant_a.api.get("/api/v1/stock-levels/?location=Shop").json()["results"]
    assert [(lv["product_id"], lv["on_hand"]) for lv in by_id] == [(p.pk, 3)] == [
        (lv["product_id"], lv["on_hand"]) for lv in by_code]
    assert merchant_a.api.get("/api/v1/stock-levels/?location=ATTIC").json()["results"] == []
    # a reference is an id only when written in ASCII digits; "²" is a (nonexistent) code, not a crash
    assert merchant_a.api.get("/api/v1/stock-levels/?location=%C2%B2").json()["results"] == []


def test_products_api_sku_and_q_filters_combine(merchant_a):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "MUG-1", title="Blue mug")
        make_product(merchant_a.merchant, "MUG-2", title="Red mug")
    r = merchant_a.api.get("/api/v1/products/?q=mug&sku=mug-2")
    assert [p["sku"] for p in r.json()["results"]] == ["MUG-2"]
