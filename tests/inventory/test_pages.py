"""Dashboard pages, driven through the signed-in web client (no scope held by the test)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tenancy import tenant_scope
from inventory import services
from inventory.models import StockLevel, StockMovement
from tests.inventory.helpers import make_bundle, make_product

pytestmark = pytest.mark.django_db


def test_inventory_table_search_filters_and_keyset_pages(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        for i in range(55):
            make_product(m, f"SKU-{i:03d}", on_hand=i, title=f"Thing {i}", low_stock_threshold=3)
        mug = make_product(m, "MUG-1", title="Blue mug", barcode="4006381333931", on_hand=50)
        make_bundle(m, "KIT-1", [(mug, 2)], title="Mug pair")
    web = merchant_a.web
    r = web.get("/inventory/")
    assert r.status_code == 200
    assert r.content.count(b'class="mono"><a href="/inventory/products/') == 50
    next_link = re.search(rb'href="\?(after=[^"]+)"', r.content).group(1).decode()
    with CaptureQueriesContext(connection) as ctx:
        r2 = web.get(f"/inventory/?{next_link}")
    assert not any("OFFSET" in q["sql"].upper() for q in ctx.captured_queries)
    assert r2.content.count(b'class="mono"><a href="/inventory/products/') == 7  # 57 products in all
    # sorted by SKU: KIT-1, MUG-1, SKU-000 … SKU-047 on page one
    assert [s.decode() for s in re.findall(rb">(SKU-\d+|MUG-1|KIT-1)</a>", r2.content)] == [f"SKU-{i:03d}" for i in range(48, 55)]
    # search by barcode, title and SKU
    assert b"MUG-1" in web.get("/inventory/?q=4006381333931").content
    assert b"MUG-1" in web.get("/inventory/?q=blue+mug").content
    # bundle filter, and its availability comes from its components
    r = web.get("/inventory/?bundle=only")
    assert b"KIT-1" in r.content and b"SKU-001" not in r.content and b"<strong>25</strong>" in r.content
    # low stock filter: 0..3 available with threshold 3
    r = web.get("/inventory/?low=1")
    assert [s.decode() for s in re.findall(rb">(SKU-\d+)</a>", r.content)] == [f"SKU-{i:03d}" for i in range(4)]
    # sorting by available, descending
    r = web.get("/inventory/?sort=-available")
    assert re.findall(rb">(SKU-\d+|MUG-1|KIT-1)</a>", r.content)[:2] == [b"SKU-054", b"SKU-053"]


def test_product_page_adjust_and_transfer_forms(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        p = make_product(m, "MUG-1", on_hand=5)
        shop = services.location_create(merchant=m, name="Shop", code="SHOP")
        main = services.location_create_default(merchant=m)
    web = merchant_a.web
    r = web.get(f"/inventory/products/{p.pk}/")
    assert r.status_code == 200 and b"Stock by location" in r.content and b"Transfer between locations" in r.content
    r = web.post(f"/inventory/products/{p.pk}/adjust/", {"location": main.pk, "mode": "delta", "quantity": "7",
                                                           "reason": "received", "note": "PO 88"})
    assert r.status_code == 302
    r = web.post(f"/inventory/products/{p.pk}/transfer/", {"from_location": main.pk, "to_location": shop.pk,
                                                             "quantity": "4"})
    assert r.status_code == 302
    r = web.post(f"/inventory/products/{p.pk}/adjust/", {"location": shop.pk, "mode": "count", "quantity": "3",
                                                           "reason": "received"})
    assert r.status_code == 302
    # too many to transfer: the page shows why and nothing changes
    r = web.post(f"/inventory/products/{p.pk}/transfer/", {"from_location": main.pk, "to_location": shop.pk,
                                                             "quantity": "99"})
    assert r.status_code == 400 and b"Not enough stock of MUG-1" in r.content
    with tenant_scope(m):
        levels = {lv.location.code: lv.on_hand for lv in StockLevel.objects.filter(merchant=m).select_related("location")}
        assert levels == {"MAIN": 8, "SHOP": 3}
        reasons = list(StockMovement.objects.filter(merchant=m).order_by("id").values_list("reason", "on_hand_delta"))
        assert reasons == [("received", 5), ("received", 7), ("transfer", -4), ("transfer", 4), ("stocktake", -1)]
    r = web.get(f"/inventory/products/{p.pk}/")
    assert b"PO 88" in r.content and b"alice@a.example" in r.content


def test_other_merchants_product_page_is_404(merchant_a, merchant_b):
    with tenant_scope(merchant_a.merchant):
        p = make_product(merchant_a.merchant, "MUG-1", on_hand=5)
    assert merchant_b.web.get(f"/inventory/products/{p.pk}/").status_code == 404
    assert merchant_b.web.post(f"/inventory/products/{p.pk}/adjust/", {"mode": "delta", "quantity": 1}).status_code == 404
    assert b"MUG-1" not in merchant_b.web.get("/inventory/").content


def test_import_page_preview_then_apply(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "MUG-1", on_hand=5)
    web = merchant_a.web
    upload = SimpleUploadedFile("stock.csv", b"sku,location,on_hand\nMUG-1,MAIN,12\n", content_type="text/csv")
    r = web.post("/inventory/import/", {"kind": "stock", "file": upload})
    assert r.status_code == 302
    preview_url = r["Location"]
    r = web.get(preview_url)
    assert b"Apply import" in r.content and b"<td class=\"num\">12</td>" in r.content
    with tenant_scope(m):
        assert StockLevel.objects.get(merchant=m).on_hand == 5
    r = web.post(preview_url)
    assert r.status_code == 302
    with tenant_scope(m):
        assert StockLevel.objects.get(merchant=m).on_hand == 12


def test_new_product_form(merchant_a):
    r = merchant_a.web.post("/inventory/products/new/", {"sku": "NEW-1", "title": "New thing"})
    assert r.status_code == 302
    r = merchant_a.web.post("/inventory/products/new/", {"sku": "new-1", "title": "Again"})
    assert r.status_code == 400 and b"already exists" in r.content
