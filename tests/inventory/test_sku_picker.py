"""Issue 18 item 5: the SKU picker's endpoint (/inventory/products.json: the signed-in merchant's products
only, SKU prefix first, limited) and the pages that carry the picker (every form where a SKU is typed),
which still work as plain inputs: the inventory list's "adjust, count or move the stock of" box resolves a
typed SKU on the server."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from accounts.tenancy import tenant_scope
from inventory.models import Product
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db


def _catalog(tenant, n: int = 30) -> None:
    with tenant_scope(tenant.merchant):
        for i in range(n):
            make_product(tenant.merchant, f"TEE-{i:02d}", on_hand=i, title=f"T-shirt {i}")
        make_product(tenant.merchant, "MUG-1", on_hand=3, title="Blue teapot mug")


def _skus(tenant, query: str) -> list[str]:
    r = tenant.web.get(f"/inventory/products.json?{query}")
    assert r.status_code == 200, r.content
    return [p["sku"] for p in r.json()["results"]]


def test_prefix_first_then_title_limited(merchant_a):
    _catalog(merchant_a)
    # ten by default, SKU prefix first in SKU order, case-insensitive
    assert _skus(merchant_a, "q=tee") == [f"TEE-{i:02d}" for i in range(10)]
    # a title match comes after the SKU prefixes, when the limit leaves room
    assert _skus(merchant_a, "q=te&limit=20")[:1] == ["TEE-00"]
    assert _skus(merchant_a, "q=teapot") == ["MUG-1"]
    r = merchant_a.web.get("/inventory/products.json?q=mug").json()["results"]
    assert r == [{"sku": "MUG-1", "title": "Blue teapot mug", "price": "", "available": 3}]
    # the limit is capped: at most 20, never more; a bad limit is a 400 in the common error shape
    assert len(_skus(merchant_a, "q=tee&limit=20")) == 20
    for bad in ("limit=21", "limit=0", "limit=x"):
        r = merchant_a.web.get(f"/inventory/products.json?q=tee&{bad}")
        assert r.status_code == 400 and b"TEE" not in r.content, bad
    assert _skus(merchant_a, "q=") == [] and _skus(merchant_a, "q=%20") == []


def test_another_merchants_products_never_appear(merchant_a, merchant_b):
    _catalog(merchant_a, 3)
    with tenant_scope(merchant_b.merchant):
        make_product(merchant_b.merchant, "TEE-B", on_hand=1, title="Their tee")
    assert _skus(merchant_b, "q=tee") == ["TEE-B"]
    assert _skus(merchant_b, "q=t-shirt") == []
    assert "TEE-B" not in _skus(merchant_a, "q=tee&limit=20")
    # signed out: no catalog at all
    from django.test import Client
    r = Client().get("/inventory/products.json?q=tee")
    assert r.status_code in (302, 401, 403) and b"TEE" not in r.content


def test_the_sku_prefix_search_reads_an_index(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        Product.objects.bulk_create([Product(merchant=m, sku=f"P{i:05d}", title=f"Product {i}") for i in range(3000)])
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE inventory_product")
        # the filter of selectors.product_suggest's first query (the sort is of what it finds, at most a few)
        qs = Product.objects.filter(merchant=merchant_a.merchant, sku__istartswith="p0001").values("pk")
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            plan = qs.explain()
    assert "inv_product_sku_prefix_idx" in plan, plan


def test_every_form_where_a_sku_is_typed_carries_the_picker(merchant_a):
    _catalog(merchant_a, 1)
    pages = {"/inventory/": 'id="stock-task-sku"', "/orders/new/": 'name="form-0-sku"'}
    for url, field in pages.items():
        html = merchant_a.web.get(url).content.decode()
        tag = next((t for t in re.findall(r"<input[^>]*>", html) if field in t), None)
        assert tag is not None, (url, field)
        assert "data-sku-picker" in tag and 'autocomplete="off"' in tag, (url, tag)
        assert 'src="/static/js/sku_picker.js"' in html and 'data-url="/inventory/products.json"' in html
    # a bundle's components (the product edit page) and mapping an unknown SKU on an order
    from inventory.forms import ComponentRowForm
    assert "data-sku-picker" in str(ComponentRowForm()["sku"])
    detail = open("templates/orders/detail.html").read()
    assert re.search(r'<input type="text" name="sku"[^>]*data-sku-picker', detail)


def test_the_stock_box_goes_to_the_products_form_without_javascript(merchant_a, merchant_b):
    _catalog(merchant_a, 1)
    with tenant_scope(merchant_a.merchant):
        pk = Product.objects.get(merchant=merchant_a.merchant, sku="TEE-00").pk
    for task, tail in (("adjust", "#adjust"), ("count", "?mode=count#adjust"), ("transfer", "#transfer")):
        r = merchant_a.web.get(f"/inventory/find/?sku=tee-00&task={task}")
        assert (r.status_code, r["Location"]) == (302, f"/inventory/products/{pk}/{tail}")
    # the stocktake link opens the adjust form on "set the counted number"
    html = merchant_a.web.get(f"/inventory/products/{pk}/?mode=count").content.decode()
    assert re.search(r'<input[^>]*value="count"[^>]*checked', html)
    assert not re.search(r'<input[^>]*value="count"[^>]*checked', merchant_a.web.get(f"/inventory/products/{pk}/").content.decode())
    # an unknown SKU, or another merchant's, goes back to the list saying so
    for tenant in (merchant_a, merchant_b):
        r = tenant.web.get("/inventory/find/?sku=NOPE&task=adjust" if tenant is merchant_a else "/inventory/find/?sku=TEE-00")
        assert (r.status_code, r["Location"]) == (302, "/inventory/")
    assert "No product with SKU NOPE." in merchant_a.web.get("/inventory/find/?sku=NOPE", follow=True).content.decode()
