"""In a real browser, at 1280 and 390 px: the SKU picker (static/js/sku_picker.js) chosen by keyboard only.
Down and Up move through the suggestions (aria-activedescendant), Enter takes one without submitting the
form, Escape closes the list and keeps what was typed; on the inventory list it leads to the product's
adjust form, on the manual order page it fills in the line's SKU and price."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.tenancy import tenant_scope
from inventory.models import Product
from orders.models import Order
from tests.browser.conftest import LAPTOP, PHONE, assert_fits_width
from tests.inventory.helpers import make_product


@pytest.fixture
def catalog(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "TEE-01", on_hand=3, title="Tee one")
        make_product(m, "TEE-02", on_hand=5, title="Tee two")
        make_product(m, "MUG", on_hand=5, title="Blue mug")
        Product.objects.filter(merchant=m, sku="MUG").update(price=Decimal("12.50"))
    with tenant_scope(merchant_b.merchant):
        make_product(merchant_b.merchant, "TEE-03", on_hand=1, title="Their tee")
    return m


def _open(page, field, text: str):
    field.click()
    page.keyboard.type(text)
    listbox = page.locator("#" + field.get_attribute("aria-controls"))
    expect(field).to_have_attribute("aria-expanded", "true")
    expect(listbox).to_be_visible()
    return listbox


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1280", "390"])
def test_choose_a_sku_to_adjust_by_keyboard(signed_in, merchant_a, catalog, viewport):
    page = signed_in(merchant_a, viewport=viewport)
    page.goto("/inventory/")
    field = page.locator("#stock-task-sku")
    expect(field).to_have_attribute("role", "combobox")
    listbox = _open(page, field, "tee")
    options = listbox.get_by_role("option")
    expect(options).to_have_count(2)  # the merchant's own: never another merchant's TEE-03
    expect(options.nth(0)).to_contain_text("TEE-01")
    expect(options.nth(1)).to_contain_text("Tee two · 5 available")
    assert_fits_width(page)
    # Escape closes the list and keeps what was typed
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(field).to_have_attribute("aria-expanded", "false")
    expect(field).to_have_value("tee")
    # Down opens it again; Down, Down, Up walks the options; Enter takes one and submits nothing
    page.keyboard.press("ArrowDown")
    expect(listbox).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # past the last: back to the first
    expect(field).to_have_attribute("aria-activedescendant", options.nth(0).get_attribute("id"))
    page.keyboard.press("ArrowUp")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(field).to_have_value("TEE-02")
    expect(listbox).to_be_hidden()
    assert page.url.endswith("/inventory/")
    # with the list closed, Enter submits: the product's adjust form
    page.keyboard.press("Enter")
    with tenant_scope(catalog):
        pk = Product.objects.get(merchant=catalog, sku="TEE-02").pk
    page.wait_for_url(f"**/inventory/products/{pk}/#adjust")
    page.locator("#id_adjust_quantity").fill("4")
    page.get_by_role("button", name="Save adjustment").click()
    expect(page.get_by_text("9", exact=True).first).to_be_visible()
    with tenant_scope(catalog):
        assert sum(Product.objects.get(pk=pk).levels.values_list("on_hand", flat=True)) == 9


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1280", "390"])
def test_choose_a_sku_on_a_manual_order_by_keyboard(signed_in, merchant_a, catalog, viewport):
    page = signed_in(merchant_a, viewport=viewport)
    page.goto("/orders/new/")
    field = page.locator("input[name='form-0-sku']")
    listbox = _open(page, field, "blue")  # by title
    expect(listbox.get_by_role("option")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(field).to_have_value("MUG")
    expect(page.locator("input[name='form-0-unit_price']")).to_have_value("12.50")
    expect(page.locator("[data-line-hint]").first).to_have_text("Blue mug · 5 available")
    assert page.url.endswith("/orders/new/")  # Enter took the option, not the form
    # a line added with the button has the picker too
    page.get_by_role("button", name="Add a line").click()
    second = page.locator("input[name='form-1-sku']")
    expect(second).to_be_focused()
    page.keyboard.type("tee-0")
    listbox = page.locator("#" + second.get_attribute("aria-controls"))
    expect(listbox.get_by_role("option")).to_have_count(2)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(second).to_have_value("TEE-01")
    assert_fits_width(page)
    with tenant_scope(catalog):
        assert not Order.objects.filter(merchant=catalog).exists()
