"""Numbers no stock column can hold are refused at every door (API, forms, CSV previews, services),
naming the row and changing nothing."""

from __future__ import annotations

import io

import pytest

from accounts.tenancy import tenant_scope
from inventory import services
from inventory.errors import InvalidStockOperation
from inventory.models import Product, StockLevel, StockMovement
from inventory.services import imports
from tests.inventory.helpers import make_product

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
