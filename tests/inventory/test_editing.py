"""Editing products, bundle components and locations: pages, API and services (clients hold no scope)."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from inventory import selectors, services
from inventory.errors import InvalidStockOperation, LocationNotFound
from inventory.models import BundleComponent, Location, Product, StockLevel
from inventory.registry import availability_consumers
from inventory.services import ReserveRequest
from tests.inventory.helpers import make_bundle, make_product

pytestmark = pytest.mark.django_db


def _clear_marks(m) -> None:
    for consumer in availability_consumers.keys():
        services.availability_ack(merchant=m, consumer=consumer,
                                  marks=services.availability_take(merchant=m, consumer=consumer))


def _marked(m, consumer: str = "orders") -> set[int]:
    return {mk.product_id for mk in services.availability_take(merchant=m, consumer=consumer)}


def _components(m, bundle) -> list[tuple[str, int]]:
    return [(c.component.sku, c.quantity) for c in selectors.bundle_components(merchant=m, bundle=bundle)]


# -- product page --------------------------------------------------------------------------------

def test_edit_product_page_saves_every_field(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        p = make_product(m, "MUG-1", on_hand=5)
    r = merchant_a.web.get(f"/inventory/products/{p.pk}/edit/")
    assert r.status_code == 200 and b'name="low_stock_threshold"' in r.content and b"Components" not in r.content
    r = merchant_a.web.post(f"/inventory/products/{p.pk}/edit/", {
        "title": "Blue mug", "barcode": "4006381333931", "weight_grams": "350", "length_mm": "90", "width_mm": "90",
        "height_mm": "110", "low_stock_threshold": "2", "allows_backorder": "on",
    })
    assert r.status_code == 302 and r["Location"] == f"/inventory/products/{p.pk}/"
    with tenant_scope(m):
        p.refresh_from_db()
        assert (p.title, p.barcode, p.weight_grams, p.length_mm, p.width_mm, p.height_mm, p.low_stock_threshold,
                p.is_active, p.allows_backorder) == ("Blue mug", "4006381333931", 350, 90, 90, 110, 2, False, True)
        assert set(StockLevel.objects.filter(merchant=m, product=p).values_list("allows_backorder", flat=True)) == {
            True}


def test_raising_the_threshold_above_available_makes_the_product_low_at_once(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        p = make_product(m, "MUG-1", on_hand=5)
    r = merchant_a.web.post(f"/inventory/products/{p.pk}/edit/", {"title": "Mug", "low_stock_threshold": "5",
                                                                    "is_active": "on"})
    assert r.status_code == 302
    with tenant_scope(m):
        p.refresh_from_db()
        assert p.low_stock_since is not None
        assert [x.sku for x in selectors.low_stock_list(merchant=m)] == ["MUG-1"]


def test_turning_backorders_off_while_over_promised_is_refused_on_the_page(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        p = make_product(m, "MUG-1", on_hand=1, allows_backorder=True)
        services.stock_reserve(merchant=m, requests=[ReserveRequest(p.pk, 3, "r1")])
    r = merchant_a.web.post(f"/inventory/products/{p.pk}/edit/", {"title": "Renamed", "low_stock_threshold": "0",
                                                                    "is_active": "on"})
    assert r.status_code == 400 and b"more promised than on hand" in r.content
    with tenant_scope(m):
        p.refresh_from_db()
        assert (p.title, p.allows_backorder) == ("Product MUG-1", True)


def test_other_merchants_edit_pages_are_404(merchant_a, merchant_b):
    with tenant_scope(merchant_a.merchant):
        p = make_product(merchant_a.merchant, "MUG-1")
        loc = services.location_create(merchant=merchant_a.merchant, name="Shop", code="SHOP")
    web = merchant_b.web
    assert web.get(f"/inventory/products/{p.pk}/edit/").status_code == 404
    assert web.post(f"/inventory/products/{p.pk}/edit/", {"title": "X", "low_stock_threshold": "0"}).status_code == 404
    assert web.post(f"/inventory/products/{p.pk}/components/", {}).status_code == 404
    assert web.post(f"/inventory/locations/{loc.pk}/", {"make_default": "1"}).status_code == 404
    with tenant_scope(merchant_a.merchant):
        p.refresh_from_db()
        assert p.title == "Product MUG-1"
        assert selectors.location_default(merchant=merchant_a.merchant).code == "MAIN"


# -- bundle components -------------------------------------------------------------------------------

def _formset(rows: list[tuple[str, str, bool]]) -> dict:
    data = {"components-TOTAL_FORMS": str(len(rows)), "components-INITIAL_FORMS": "0",
            "components-MIN_NUM_FORMS": "0", "components-MAX_NUM_FORMS": "1000"}
    for i, (sku, qty, delete) in enumerate(rows):
        data[f"components-{i}-sku"] = sku
        data[f"components-{i}-quantity"] = qty
        if delete:
            data[f"components-{i}-DELETE"] = "on"
    return data


def test_components_page_adds_removes_and_changes_quantities_and_marks_the_bundle(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        b = make_product(m, "B-1", on_hand=10)
        make_product(m, "C-1", on_hand=3)
        kit = make_bundle(m, "KIT", [(a, 2), (b, 1)])
        _clear_marks(m)
    r = merchant_a.web.get(f"/inventory/products/{kit.pk}/edit/")
    assert r.status_code == 200 and b'value="A-1"' in r.content and b'value="B-1"' in r.content
    # when A-1 goes to 5 per bundle, B-1 is removed and c-1 (any case) is added
    r = merchant_a.web.post(f"/inventory/products/{kit.pk}/components/",
                            _formset([("A-1", "5", False), ("B-1", "1", True), ("c-1", "1", False), ("", "", False)]))
    assert r.status_code == 302
    with tenant_scope(m):
        assert _components(m, kit) == [("A-1", 5), ("C-1", 1)]
        assert selectors.product_available(merchant=m, product_id=kit.pk) == 2  # 10 // 5, 3 // 1
        assert _marked(m) == {kit.pk}


def test_components_page_refuses_bundles_unknown_and_foreign_skus(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        kit = make_bundle(m, "KIT", [(a, 2)])
        make_bundle(m, "KIT-2", [(a, 1)])
    with tenant_scope(merchant_b.merchant):
        make_product(merchant_b.merchant, "THEIRS", on_hand=10)
    cases = [
        ([("KIT-2", "1", False)], b"bundles cannot contain bundles"),
        ([("KIT", "1", False)], b"bundles cannot contain bundles"),
        ([("NOPE", "1", False)], b"Unknown SKU: NOPE."),
        ([("THEIRS", "1", False)], b"Unknown SKU: THEIRS."),
        ([("A-1", "1", True)], b"at least one component"),
        ([("A-1", "1", False), ("a-1", "2", False)], b"appears twice"),
        ([("A-1", "0", False)], b"greater than or equal to 1"),
    ]
    for rows, message in cases:
        r = merchant_a.web.post(f"/inventory/products/{kit.pk}/components/", _formset(rows))
        assert r.status_code == 400, rows
        assert message in r.content, rows
    with tenant_scope(m):
        assert _components(m, kit) == [("A-1", 2)]


def test_a_component_cannot_become_a_bundle_and_a_product_with_stock_cannot_either(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1")
    c = make_product(m, "C-1")
    make_bundle(m, "KIT", [(a, 1), (c, 1)])
    with pytest.raises(InvalidStockOperation, match="component of a bundle"):
        services.product_update(merchant=m, product=c, components=[(b.pk, 1)])
    with pytest.raises(InvalidStockOperation, match="holds stock"):
        services.bundle_set_components(merchant=m, bundle=a, components=[(b.pk, 1)])
    assert Product.objects.filter(merchant=m, is_bundle=True).count() == 1


# -- API PATCH ---------------------------------------------------------------------------------------

def test_api_patch_replaces_components_atomically_with_fields(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        b = make_product(m, "B-1", on_hand=4)
        kit = make_bundle(m, "KIT", [(a, 2)])
        inner = make_bundle(m, "KIT-2", [(a, 1)])
        _clear_marks(m)
    with tenant_scope(merchant_b.merchant):
        make_product(merchant_b.merchant, "THEIRS", on_hand=10)
    api = merchant_a.api
    r = api.patch(f"/api/v1/products/{kit.pk}/", {"title": "Mug set", "components": [
        {"sku": "a-1", "quantity": 1}, {"sku": "B-1", "quantity": 2}]}, format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["title"], body["is_bundle"], body["available"]) == ("Mug set", True, 2)
    assert [(c["sku"], c["product_id"], c["quantity"]) for c in body["components"]] == [
        ("A-1", a.pk, 1), ("B-1", b.pk, 2)]
    with tenant_scope(m):
        assert _marked(m) == {kit.pk}
    # refused: a bundle inside a bundle, another merchant's SKU, no components; the title does not change either
    for components, code in [([{"sku": "KIT-2", "quantity": 1}], "invalid_stock_operation"),
                             ([{"sku": "THEIRS", "quantity": 1}], "unknown_sku"),
                             ([], "validation_failed")]:
        r = api.patch(f"/api/v1/products/{kit.pk}/", {"title": "Changed", "components": components}, format="json")
        assert r.status_code == 400, components
        assert r.json()["error"]["code"] == code
    with tenant_scope(m):
        kit.refresh_from_db()
        assert kit.title == "Mug set"
        assert list(BundleComponent.objects.filter(merchant=m, bundle=kit).order_by("id").values_list(
            "component_id", "quantity")) == [(a.pk, 1), (b.pk, 2)]
        assert inner.is_bundle
    assert merchant_b.api.patch(f"/api/v1/products/{kit.pk}/", {"components": [{"sku": "THEIRS", "quantity": 1}]},
                                format="json").status_code == 404


# -- locations ------------------------------------------------------------------------------------------

def test_locations_page_lists_creates_renames_and_chooses_the_default(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=7)
    web = merchant_a.web
    r = web.get("/inventory/locations/")
    assert r.status_code == 200 and b'value="MAIN"' in r.content and b">7</td>" in r.content
    r = web.post("/inventory/locations/", {"name": "Shop floor", "code": ""})
    assert r.status_code == 302
    with tenant_scope(m):
        shop = Location.objects.get(merchant=m, code="SHOP-FLOOR")
        assert StockLevel.objects.filter(merchant=m, location=shop).count() == 1
    r = web.post("/inventory/locations/", {"name": "Other", "code": "shop-floor"})
    assert r.status_code == 400 and b"already exists" in r.content
    r = web.post(f"/inventory/locations/{shop.pk}/", {f"loc{shop.pk}-name": "Shop", f"loc{shop.pk}-code": "shop"})
    assert r.status_code == 302
    with tenant_scope(m):
        main = selectors.location_default(merchant=m)
    r = web.post(f"/inventory/locations/{shop.pk}/", {f"loc{shop.pk}-name": "Shop", f"loc{shop.pk}-code": "main"})
    assert r.status_code == 400 and b"Location code MAIN already exists." in r.content
    r = web.post(f"/inventory/locations/{shop.pk}/", {"make_default": "1"})
    assert r.status_code == 302
    with tenant_scope(m):
        rows = list(Location.objects.filter(merchant=m).order_by("id").values_list("name", "code", "is_default"))
        assert rows == [(main.name, "MAIN", False), ("Shop", "SHOP", True)]


def test_setting_another_merchants_location_as_default_changes_nothing(merchant_a, merchant_b):
    with tenant_scope(merchant_b.merchant):
        theirs = services.location_create(merchant=merchant_b.merchant, name="Theirs", code="T")
    with tenant_scope(merchant_a.merchant):
        with pytest.raises(LocationNotFound):
            services.location_set_default(merchant=merchant_a.merchant, location=theirs)
        with pytest.raises(LocationNotFound):
            services.location_update(merchant=merchant_a.merchant, location=theirs, name="Mine")
        assert selectors.location_default(merchant=merchant_a.merchant).code == "MAIN"


def test_api_patch_location_renames_and_makes_default(merchant_a):
    r = merchant_a.api.post("/api/v1/locations/", {"name": "Shop", "code": "SHOP"}, format="json")
    assert r.status_code == 201
    pk = r.json()["id"]
    r = merchant_a.api.patch(f"/api/v1/locations/{pk}/", {"name": "Shop front", "is_default": True}, format="json")
    assert r.status_code == 200
    assert {k: r.json()[k] for k in ("name", "code", "is_default")} == {"name": "Shop front", "code": "SHOP",
                                                                        "is_default": True}
    r = merchant_a.api.patch(f"/api/v1/locations/{pk}/", {"code": "main"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "duplicate_location"
    codes = [(x["code"], x["is_default"]) for x in merchant_a.api.get("/api/v1/locations/").json()["results"]]
    assert codes == [("MAIN", False), ("SHOP", True)]


def test_pending_marks_merchants_are_listed_outside_any_scope(merchant_a, merchant_b):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "A-1", on_hand=1)
    with tenant_scope(merchant_b.merchant):
        make_product(merchant_b.merchant, "B-1")
        _clear_marks(merchant_b.merchant)
    # when the fan-out asks outside any scope, then only the merchant with pending marks is named
    assert selectors.availability_pending_merchant_ids(consumer="orders") == [merchant_a.merchant.pk]
    assert selectors.availability_pending_merchant_ids(consumer="nobody") == []


def test_a_bundle_cannot_be_left_without_components(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=5)
    kit = make_bundle(m, "KIT", [(a, 2)])
    with pytest.raises(InvalidStockOperation):
        services.bundle_set_components(merchant=m, bundle=kit, components=[])
    assert list(BundleComponent.objects.filter(merchant=m, bundle=kit).values_list("component_id", "quantity")) == [
        (a.pk, 2)
    ]
