"""Stock pages in a real browser: the adjust form's reason follows the sign as it is typed, a new product
arrives with its opening stock, and the inventory and import pages fit a phone."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from inventory.models import Product, StockMovement
from tests.browser.conftest import PHONE, assert_fits_width
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_reason_follows_the_sign_until_one_is_chosen(signed_in, merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=5)
    page = signed_in(merchant_a)
    page.goto(f"/inventory/products/{a.pk}/")
    reason = page.locator("#id_adjust_reason")
    page.fill("#id_adjust_quantity", "-2")
    assert reason.input_value() == "correction"
    page.fill("#id_adjust_quantity", "12")
    assert reason.input_value() == "received"
    page.select_option("#id_adjust_reason", "found")
    page.fill("#id_adjust_quantity", "3")
    assert reason.input_value() == "found"  # a reason someone picked is theirs
    page.click("#adjust button[type=submit]")
    page.wait_for_url(f"**/inventory/products/{a.pk}/")
    with tenant_scope(m):
        assert StockMovement.objects.filter(merchant=m, product=a).first().reason == "found"


def test_a_new_product_with_opening_stock_on_a_phone(signed_in, merchant_a):
    m = merchant_a.merchant
    page = signed_in(merchant_a, viewport=PHONE)
    page.goto("/inventory/products/new/")
    assert_fits_width(page)
    page.get_by_label("SKU", exact=True).fill("MUG-1")
    page.get_by_label("Title").fill("Blue mug")
    page.get_by_label("Price").fill("12.50")
    page.get_by_label("Cost").fill("4.00")
    page.get_by_label("Opening stock", exact=True).fill("7")
    page.click("button[type=submit]")
    page.wait_for_url("**/inventory/products/*/")
    assert "12.50" in page.content()
    assert_fits_width(page)
    with tenant_scope(m):
        p = Product.objects.get(merchant=m, sku="MUG-1")
        assert StockMovement.objects.get(merchant=m, product=p).on_hand_delta == 7
    for url in ("/inventory/", "/inventory/?stock=out", "/inventory/import/"):
        page.goto(url)
        assert_fits_width(page)
