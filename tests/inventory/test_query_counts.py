"""Inventory pages and API lists run a fixed number of queries, whatever the number of rows on them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tenancy import tenant_scope
from inventory import services
from tests.inventory.helpers import make_bundle, make_product

pytestmark = pytest.mark.django_db


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
