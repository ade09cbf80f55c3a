"""Complete products: price, cost, image, supplier on the forms, page and API; opening stock; out of stock
apart from low; stock value at cost and days of cover, in queries that do not grow with the catalog."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tenancy import tenant_scope
from inventory import selectors, services
from inventory.models import Location, Product, StockLevel, StockMovement
from tests.inventory.helpers import make_bundle, make_product

pytestmark = pytest.mark.django_db


def _ship(m, product, units: int, days_ago: int = 1) -> None:
    services.stock_ship(merchant=m, reference=f"test:{product.pk}:{days_ago}", product_id=product.pk, quantity=units)
    StockMovement.objects.filter(merchant=m, product=product, reason="shipped",
                                 reference=f"test:{product.pk}:{days_ago}").update(
        created_at=timezone.now() - timedelta(days=days_ago))


def test_new_product_form_with_prices_labels_and_opening_stock(merchant_a, merchant_b):
    m, web = merchant_a.merchant, merchant_a.web
    with tenant_scope(m):
        shop = services.location_create(merchant=m, name="Shop", code="SHOP")
    page = web.get("/inventory/products/new/").content.decode()
    for label in ("SKU", "Weight (g)", "Length (mm)", "Supplier SKU", "Image URL", "Opening stock", "Cost"):
        assert f">{label}" in page, label
    r = web.post("/inventory/products/new/", {
        "sku": "MUG-1", "title": "Mug", "price": "12.50", "cost": "4.10", "image_url": "https://img.example/mug.png",
        "supplier": "Acme", "supplier_sku": "AC-77", "weight_grams": "350", "low_stock_threshold": "2",
        "opening_stock": "9", "opening_location": shop.pk,
    })
    assert r.status_code == 302
    with tenant_scope(m):
        p = Product.objects.get(merchant=m, sku="MUG-1")
        assert (p.price, p.cost, p.supplier, p.supplier_sku) == (Decimal("12.50"), Decimal("4.10"), "Acme", "AC-77")
        assert StockLevel.objects.get(merchant=m, product=p, location=shop).on_hand == 9
        mv = StockMovement.objects.get(merchant=m, product=p)
        assert (mv.reason, mv.on_hand_delta, mv.note, mv.actor_id) == ("received", 9, "Opening stock", merchant_a.user.pk)
    detail = web.get(f"/inventory/products/{p.pk}/").content.decode()
    assert "12.50" in detail and "4.10" in detail and "Acme" in detail and "https://img.example/mug.png" in detail
    assert "margin 67.2 %" in detail
    # bad input is a form error, never a 500, and nothing is created
    r = web.post("/inventory/products/new/", {"sku": "NEG", "title": "x", "price": "-1", "cost": "1.234",
                                              "low_stock_threshold": "0"})
    assert r.status_code == 400
    with tenant_scope(m):
        assert not Product.objects.filter(merchant=m, sku="NEG").exists()
    # another merchant's location cannot receive the opening stock
    with tenant_scope(merchant_b.merchant):
        foreign = Location.objects.get(merchant=merchant_b.merchant, is_default=True)
    r = web.post("/inventory/products/new/", {"sku": "X-1", "title": "x", "opening_stock": "3",
                                              "opening_location": foreign.pk})
    assert r.status_code == 400
    with tenant_scope(m):
        assert not Product.objects.filter(merchant=m, sku="X-1").exists()


def test_opening_stock_and_the_product_are_one_transaction(scope_a):
    m = scope_a.merchant
    with pytest.raises(Exception, match="too large"):
        services.product_create(merchant=m, sku="BIG", title="Big", opening_stock=2**31)
    assert not Product.objects.filter(merchant=m, sku="BIG").exists()


def test_edit_form_saves_price_cost_and_clears_them(merchant_a):
    m, web = merchant_a.merchant, merchant_a.web
    with tenant_scope(m):
        p = make_product(m, "A-1", price=Decimal("5.00"))
    form = {"title": "A", "price": "", "cost": "2.00", "image_url": "", "supplier": "S", "supplier_sku": "S-1",
            "low_stock_threshold": "0", "is_active": "on"}
    assert web.post(f"/inventory/products/{p.pk}/edit/", form).status_code == 302
    p.refresh_from_db()
    assert (p.price, p.cost, p.supplier_sku) == (None, Decimal("2.00"), "S-1")


def test_out_of_stock_is_apart_from_low(merchant_a):
    m, web = merchant_a.merchant, merchant_a.web
    with tenant_scope(m):
        make_product(m, "OUT-1", on_hand=0, low_stock_threshold=5)
        make_product(m, "LOW-1", on_hand=2, low_stock_threshold=5)
        make_product(m, "OK-1", on_hand=20, low_stock_threshold=5)
        make_product(m, "BO-1", on_hand=0, allows_backorder=True)
    def rows(url: str) -> list[str]:
        return re.findall(r'class="mono"><a href="/inventory/products/\d+/">([^<]+)</a>', web.get(url).content.decode())

    assert rows("/inventory/?stock=out") == ["OUT-1"]
    assert "out of stock</span>" in web.get("/inventory/?stock=out").content.decode()
    assert rows("/inventory/?stock=low") == ["LOW-1"]
    assert rows("/inventory/?low=1") == ["LOW-1"]  # the older link still works
    with tenant_scope(m):
        summary = selectors.inventory_summary(merchant=m)
        out_id, low_id = (Product.objects.get(merchant=m, sku=s).pk for s in ("OUT-1", "LOW-1"))
    assert (summary["products"], summary["low"], summary["out"]) == (4, 1, 1)
    assert "out of stock" in web.get(f"/inventory/products/{out_id}/").content.decode()
    low_page = web.get(f"/inventory/products/{low_id}/").content.decode()
    assert "low stock" in low_page and "out of stock" not in low_page


def test_stock_value_at_cost_names_what_has_no_cost(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=10, cost=Decimal("2.50"))
        shop = services.location_create(merchant=m, name="Shop", code="SHOP")
        b = make_product(m, "B-1", on_hand=1, cost=Decimal("100.00"))
        services.stock_adjust(merchant=m, product_id=b.pk, delta=2, location_id=shop.pk)
        make_product(m, "C-1", on_hand=4)  # no cost
        make_product(m, "D-1", on_hand=0)  # no cost, no stock: nothing to value
        summary = selectors.inventory_summary(merchant=m)
    with tenant_scope(merchant_b.merchant):
        make_product(merchant_b.merchant, "A-1", on_hand=1000, cost=Decimal("9.99"))
    assert summary["stock_value"] == Decimal("325.00")
    assert (summary["no_cost"], summary["no_cost_units"]) == (1, 4)
    page = merchant_a.web.get("/inventory/").content.decode()
    assert "325.00" in page and "1 product with no cost" in page
    no_cost = merchant_a.web.get("/inventory/?stock=no_cost").content.decode()
    assert re.findall(r'class="mono"><a href="/inventory/products/\d+/">([^<]+)</a>', no_cost) == ["C-1"]


def test_days_of_cover_from_the_last_30_days_of_shipping(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=100)
        _ship(m, a, 30, days_ago=3)  # 1 a day over 30 days; 70 left
        _ship(m, a, 50, days_ago=40)  # too old to count; 20 left
        b = make_product(m, "B-1", on_hand=5)
        per_day = selectors.units_shipped_per_day(merchant=m, product_ids=[a.pk, b.pk])
    assert per_day == {a.pk: 1.0}
    assert selectors.days_of_cover(20, per_day[a.pk]) == 20
    assert selectors.days_of_cover(5, per_day.get(b.pk)) is None


def test_inventory_page_queries_do_not_grow_with_products(merchant_a):
    m, web = merchant_a.merchant, merchant_a.web

    def add(n: int, start: int) -> None:
        with tenant_scope(m):
            for i in range(start, start + n):
                p = make_product(m, f"P-{i:03d}", on_hand=10, cost=Decimal("1.00") if i % 2 else None,
                                 low_stock_threshold=3)
                _ship(m, p, 1 + i % 3)
            a = Product.objects.get(merchant=m, sku=f"P-{start:03d}")
            make_bundle(m, f"KIT-{start}", [(a, 1)])

    add(2, 0)
    web.get("/inventory/")
    with CaptureQueriesContext(connection) as few:
        assert web.get("/inventory/").status_code == 200
    add(10, 2)
    with CaptureQueriesContext(connection) as many:
        page = web.get("/inventory/").content.decode()
    assert page.count('class="mono"><a href="/inventory/products/') == 14
    assert len(many.captured_queries) == len(few.captured_queries)


def test_api_reads_and_writes_money_as_strings(merchant_a, merchant_b):
    api = merchant_a.api
    r = api.post("/api/v1/products/", {"sku": "M-1", "title": "Mug", "price": "12.50", "cost": 4.1,
                                       "image_url": "https://img.example/m.png", "supplier": "Acme",
                                       "supplier_sku": "AC-1", "opening_stock": 6}, format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["price"], body["cost"], body["supplier_sku"], body["available"]) == ("12.50", "4.10", "AC-1", 6)
    assert "opening_stock" not in body
    pid = body["id"]
    r = api.patch(f"/api/v1/products/{pid}/", {"cost": None, "price": "13"}, format="json")
    assert (r.json()["cost"], r.json()["price"]) == (None, "13.00")
    for bad in ({"price": "-1"}, {"cost": "1.234"}, {"price": "1e20"}, {"price": "abc"}, {"image_url": "nope"}):
        r = api.patch(f"/api/v1/products/{pid}/", bad, format="json")
        assert r.status_code == 400, bad
        assert r.json()["error"]["code"] == "validation_failed"
    assert merchant_b.api.patch(f"/api/v1/products/{pid}/", {"price": "1"}, format="json").status_code == 404
