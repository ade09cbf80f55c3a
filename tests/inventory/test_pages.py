"""Dashboard pages, driven through the signed-in web client (no scope held by the test)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tenancy import tenant_scope
from inventory import services
from inventory.errors import InvalidStockOperation
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
    # low stock filter: 1..3 available with threshold 3; none available is out of stock, apart from low
    r = web.get("/inventory/?low=1")
    assert [s.decode() for s in re.findall(rb">(SKU-\d+)</a>", r.content)] == [f"SKU-{i:03d}" for i in range(1, 4)]
    r = web.get("/inventory/?stock=out")
    assert [s.decode() for s in re.findall(rb">(SKU-\d+)</a>", r.content)] == ["SKU-000"]
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


def test_one_products_adjustment_errors_name_no_row(merchant_a):
    """"Row 1" is a CSV's wording: the product page's own adjustment says what is wrong, in a sentence."""
    m = merchant_a.merchant
    with tenant_scope(m):
        p = make_product(m, "MUG-1", on_hand=5)
        main = services.location_create_default(merchant=m)
    web = merchant_a.web
    r = web.post(f"/inventory/products/{p.pk}/adjust/", {"location": main.pk, "mode": "delta", "quantity": "-9",
                                                           "reason": "damaged"})
    assert r.status_code == 400
    page = r.content.decode()
    assert "Cannot remove 9 of MUG-1 at Main warehouse; only 5 are on hand and not promised." in page
    assert "Row 1" not in page
    r = web.post(f"/inventory/products/{p.pk}/adjust/", {"location": main.pk, "mode": "count", "quantity": "-1"})
    assert r.status_code == 400 and "Row 1" not in r.content.decode()
    with tenant_scope(m):
        assert StockLevel.objects.get(merchant=m, product=p).on_hand == 5
        # a list of lines (a CSV, the API's list) still names the row
        with pytest.raises(InvalidStockOperation, match=r"^Row 2: damaged removes units"):
            services.stock_adjust_many(merchant=m, lines=[
                services.AdjustLine(product_id=p.pk, delta=1, reason="received"),
                services.AdjustLine(product_id=p.pk, delta=3, reason="damaged")])


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


def test_product_page_forms_have_their_own_element_ids(merchant_a):
    """The adjust and transfer forms both have quantity and note: each label must focus its own field."""
    with tenant_scope(merchant_a.merchant):
        p = make_product(merchant_a.merchant, "MUG-1", on_hand=5)
        services.location_create(merchant=merchant_a.merchant, name="Shop", code="SHOP")
    html = merchant_a.web.get(f"/inventory/products/{p.pk}/").content.decode()
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert [i for i in set(ids) if ids.count(i) > 1] == []
    for form in ("adjust", "transfer"):
        for field in ("quantity", "note"):
            assert f'for="id_{form}_{field}"' in html and f'id="id_{form}_{field}"' in html


def test_product_movements_page_by_keyset_cursor(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        p = make_product(m, "MUG-1", on_hand=1)
        for _ in range(55):
            services.stock_adjust(merchant=m, product_id=p.pk, delta=1, reason="received")
    r = merchant_a.web.get(f"/inventory/products/{p.pk}/")
    next_link = re.search(rb'href="\?(after=[^"]+)"', r.content).group(1).decode()
    r2 = merchant_a.web.get(f"/inventory/products/{p.pk}/?{next_link}")
    assert r2.status_code == 200 and r2.content.count(b'<td class="num">+1</td>') == 6  # 56 movements: 50 then 6
    assert merchant_a.web.get(f"/inventory/products/{p.pk}/?after=%C2%B2").status_code == 400


@pytest.mark.parametrize("after", [
    "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAsMV0",  # [1000000000000000000000,1]: overflows a bigint
    "WyJhIiwxXQ",  # ["a",1]: text where the sort key is a number
    "bm90IGpzb24",  # not JSON
    "%C2%B2",
])
def test_inventory_table_refuses_a_malformed_or_overflowing_cursor_with_400(merchant_a, after):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "MUG-1", on_hand=1)
    r = merchant_a.web.get(f"/inventory/?sort=available&after={after}")
    assert r.status_code == 400 and b"Bad page cursor." in r.content


@pytest.mark.parametrize("query", ["location=%C2%B2", "location=99999999999999999999", "q=a%00b"])
def test_inventory_table_and_export_refuse_bad_filters_with_400(merchant_a, query):
    assert merchant_a.web.get(f"/inventory/?{query}").status_code == 400
    if query.startswith("location"):
        assert merchant_a.web.get(f"/inventory/export.csv?{query}").status_code == 400


@pytest.mark.parametrize("path", ["/inventory/products/%C2%B2/", "/inventory/products/99999999999999999999/",
                                  "/inventory/locations/abc/", "/jobs/%C2%B2/", "/orders/shipments/%C2%B2/ship/"])
def test_paths_with_ids_that_are_not_ids_are_404(merchant_a, path):
    r = merchant_a.web.post(path) if path.endswith(("ship/", "locations/abc/")) else merchant_a.web.get(path)
    assert r.status_code == 404


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
