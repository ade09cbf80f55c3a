"""Defects found in review: each test failed before its fix (huge numbers, broken bundles, N+1)."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tenancy import tenant_scope
from inventory import services
from inventory.errors import InvalidStockOperation
from inventory.models import BundleComponent, Product, StockLevel, StockMovement
from inventory.services import imports
from tests.inventory.helpers import make_bundle, make_product

pytestmark = pytest.mark.django_db

TOO_MANY = 3_000_000_000  # beyond a PostgreSQL integer column


def test_api_adjustment_beyond_integer_range_is_a_400_naming_the_row(merchant_a):
    # given a product with 5 on hand
    with tenant_scope(merchant_a.merchant):
        p = make_product(merchant_a.merchant, "A-1", on_hand=5)
    # when a client sends a delta no level can hold, after a good row
    r = merchant_a.api.post("/api/v1/inventory/adjustments/", {"adjustments": [
        {"sku": "A-1", "delta": 1}, {"sku": "A-1", "delta": TOO_MANY}]}, format="json")
    # then the request is refused naming row 2, in the common error shape, and nothing changed
    assert r.status_code == 400
    assert r.json()["error"]["details"]["row"] == 2
    with tenant_scope(merchant_a.merchant):
        assert StockLevel.objects.get(merchant=merchant_a.merchant, product=p).on_hand == 5
        assert StockMovement.objects.filter(merchant=merchant_a.merchant).count() == 1


def test_service_refuses_a_level_beyond_integer_range(scope_a):
    m = scope_a.merchant
    p = make_product(m, "A-1", on_hand=2_000_000_000)
    # when a second delivery would overflow the column
    with pytest.raises(InvalidStockOperation):
        services.stock_adjust(merchant=m, product_id=p.pk, delta=2_000_000_000, reason="received")
    # then the level and the ledger are as they were
    assert StockLevel.objects.get(merchant=m, product=p).on_hand == 2_000_000_000
    assert StockMovement.objects.filter(merchant=m, product=p).count() == 1


def test_adjust_form_with_huge_quantity_shows_an_error_not_a_500(merchant_a):
    with tenant_scope(merchant_a.merchant):
        p = make_product(merchant_a.merchant, "A-1", on_hand=1)
        loc = services.location_create_default(merchant=merchant_a.merchant)
    r = merchant_a.web.post(f"/inventory/products/{p.pk}/adjust/", {"location": loc.pk, "mode": "delta",
                                                                     "quantity": str(TOO_MANY), "reason": "received"})
    assert r.status_code == 400
    with tenant_scope(merchant_a.merchant):
        assert StockLevel.objects.get(merchant=merchant_a.merchant, product=p).on_hand == 1


def test_stock_csv_with_huge_numbers_is_named_in_the_preview(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=5)
    make_product(m, "B-1", on_hand=5)
    upload = io.BytesIO(f"\ufeffsku,location,on_hand\nA-1,MAIN,7\nB-1,MAIN,{TOO_MANY}\n".encode())
    imp = imports.stock_import_create(merchant=m, user=scope_a.user, upload=upload, filename="s.csv")
    assert [e["row"] for e in imp.summary["errors"]] == [3]
    assert "too large" in imp.summary["errors"][0]["message"]


def test_catalog_csv_with_overlong_or_huge_values_is_named_in_the_preview(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1")
    upload = io.BytesIO(
        ("sku,title,barcode,weight_grams\n"
         "A-1,Mug,123,100\n"
         f"B-1,Plate,{'9' * 65},100\n"
         f"C-1,Bowl,1,{TOO_MANY}\n"
         f"D-1,{'t' * 256},1,1\n").encode()
    )
    pv = imports.catalog_import(merchant=m, fileobj=upload, dry_run=True)
    assert [e["row"] for e in pv.errors] == [3, 4, 5]
    assert Product.objects.filter(merchant=m).count() == 1


def test_a_bundle_cannot_be_left_without_components(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=5)
    kit = make_bundle(m, "KIT", [(a, 2)])
    with pytest.raises(InvalidStockOperation):
        services.bundle_set_components(merchant=m, bundle=kit, components=[])
    assert list(BundleComponent.objects.filter(merchant=m, bundle=kit).values_list("component_id", "quantity")) == [
        (a.pk, 2)
    ]


def test_products_list_queries_do_not_grow_with_bundles(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        b = make_product(m, "B-1", on_hand=10)
        make_bundle(m, "KIT-0", [(a, 1), (b, 1)])
    merchant_a.api.get("/api/v1/products/")  # warm up (session, token)
    with CaptureQueriesContext(connection) as one:
        r = merchant_a.api.get("/api/v1/products/")
    kit = next(row for row in r.json()["results"] if row["sku"] == "KIT-0")
    assert [(c["sku"], c["quantity"]) for c in kit["components"]] == [("A-1", 1), ("B-1", 1)]
    assert kit["available"] == 10
    with tenant_scope(m):
        for i in range(1, 6):
            make_bundle(m, f"KIT-{i}", [(a, 2), (b, 1)])
    with CaptureQueriesContext(connection) as six:
        r = merchant_a.api.get("/api/v1/products/")
    assert len(r.json()["results"]) == 8
    assert len(six.captured_queries) == len(one.captured_queries)


@pytest.mark.parametrize("header", ["sku,location,delta,delta", "sku,SKU,location,delta"])
def test_stock_csv_with_a_repeated_column_is_refused_in_the_preview(scope_a, header):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=5)
    values = {"sku,location,delta,delta": "A-1,MAIN,1,7", "sku,SKU,location,delta": "A-1,B-1,MAIN,1"}[header]
    imp = imports.stock_import_create(merchant=m, user=scope_a.user, upload=io.BytesIO(f"{header}\n{values}\n".encode()),
                                      filename="s.csv")
    assert [e["row"] for e in imp.summary["errors"]] == [1]
    assert "more than once" in imp.summary["errors"][0]["message"]
    assert imp.summary["change_count"] == 0


def test_catalog_csv_with_a_repeated_column_is_refused_in_the_preview(scope_a):
    pv = imports.catalog_import(merchant=scope_a.merchant, fileobj=io.BytesIO(b"sku,title,title\nA-1,Mug,Cup\n"))
    assert [e["row"] for e in pv.errors] == [1]
    assert "more than once" in pv.errors[0]["message"]


def test_dashboard_pages_do_not_query_per_row(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        make_bundle(m, "KIT-0", [(a, 1)])
        services.location_create(merchant=m, name="Shop", code="SHOP")
    web = merchant_a.web
    urls = ["/inventory/", "/inventory/?bundle=only", "/inventory/locations/", f"/inventory/products/{a.pk}/"]
    for url in urls:
        web.get(url)
    few = {}
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            assert web.get(url).status_code == 200
        few[url] = len(ctx.captured_queries)
    with tenant_scope(m):
        for i in range(1, 12):
            p = make_product(m, f"P-{i}", on_hand=i)
            make_bundle(m, f"KIT-{i}", [(a, 1), (p, 2)])
            services.location_create(merchant=m, name=f"Store {i}", code=f"S{i}")
            services.stock_adjust(merchant=m, product_id=a.pk, delta=1)
    many = {}
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            assert web.get(url).status_code == 200
        many[url] = len(ctx.captured_queries)
    assert many == few


def test_api_list_endpoints_do_not_query_per_row(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        make_bundle(m, "KIT-0", [(a, 1)])
        services.stock_adjust(merchant=m, product_id=a.pk, delta=1)
    urls = ["/api/v1/products/", "/api/v1/locations/", "/api/v1/stock-levels/", "/api/v1/stock-movements/"]
    api = merchant_a.api
    for url in urls:
        api.get(url)
    few = {}
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(url).status_code == 200
        few[url] = len(ctx.captured_queries)
    with tenant_scope(m):
        for i in range(1, 8):
            p = make_product(m, f"P-{i}", on_hand=i)
            make_bundle(m, f"KIT-{i}", [(a, 1), (p, 2)])
            services.location_create(merchant=m, name=f"Store {i}", code=f"S{i}")
    many = {}
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get(url).status_code == 200
        many[url] = len(ctx.captured_queries)
    assert many == few


def test_products_api_sku_and_q_filters_combine(merchant_a):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "MUG-1", title="Blue mug")
        make_product(merchant_a.merchant, "MUG-2", title="Red mug")
    r = merchant_a.api.get("/api/v1/products/?q=mug&sku=mug-2")
    assert [p["sku"] for p in r.json()["results"]] == ["MUG-2"]


def test_inventory_table_filtered_by_location_counts_bundles_at_that_location(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)  # at the default location
        shop = services.location_create(merchant=m, name="Shop", code="SHOP")
        services.stock_transfer(merchant=m, product_id=a.pk, from_location_id=_default_location_id(m),
                                to_location_id=shop.pk, quantity=4)
        make_bundle(m, "KIT", [(a, 2)])
    r = merchant_a.web.get(f"/inventory/?bundle=only&location={shop.pk}")
    assert b"<strong>2</strong>" in r.content  # 4 at the shop // 2, not 10 // 2
    r = merchant_a.web.get("/inventory/?bundle=only")
    assert b"<strong>5</strong>" in r.content


def _default_location_id(m) -> int:
    from inventory.selectors import location_default

    return location_default(merchant=m).pk


def test_a_bundle_reserved_before_its_components_changed_ships_what_was_reserved(scope_a):
    from inventory import selectors
    from inventory.models import Reservation
    from inventory.services import ReserveRequest

    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    kit = make_bundle(m, "KIT", [(a, 2)])
    # given an order line holding one kit (two A-1)
    services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 1, "order_line:1")])
    # when the kit's components change before it ships
    services.product_update(merchant=m, product=kit, components=[(b.pk, 1)])
    services.stock_ship(merchant=m, reference="order_line:1", product_id=kit.pk, quantity=1)
    # then the two A-1 that were promised leave, nothing stays reserved, B-1 is untouched
    levels = {lv.product.sku: (lv.on_hand, lv.reserved) for lv in StockLevel.objects.filter(merchant=m)
              .select_related("product")}
    assert levels == {"A-1": (8, 0), "B-1": (10, 0)}
    assert not Reservation.objects.filter(merchant=m).exists()
    assert selectors.audit_differences(merchant=m) == []


def test_topping_up_a_bundle_reserved_before_its_components_changed_keeps_one_bill_of_materials(scope_a):
    from inventory import selectors
    from inventory.services import ReserveRequest

    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    kit = make_bundle(m, "KIT", [(a, 2)])
    services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 1, "order_line:1")])
    services.product_update(merchant=m, product=kit, components=[(b.pk, 1)])
    # when the order line asks for one more kit under the same reference
    assert services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 1, "order_line:1")]) == {
        "order_line:1": 1}
    # then the reference still counts whole kits of one kind, and releasing gives everything back
    assert selectors.stock_reserved_for(merchant=m, reference="order_line:1") == 2
    assert services.stock_release(merchant=m, reference="order_line:1") == 2
    levels = {lv.product.sku: (lv.on_hand, lv.reserved) for lv in StockLevel.objects.filter(merchant=m)
              .select_related("product")}
    assert levels == {"A-1": (10, 0), "B-1": (10, 0)}
    assert selectors.audit_differences(merchant=m) == []
