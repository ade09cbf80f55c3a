"""The manual order form, in a real browser at 1280 and 390 px: a customer is picked by e-mail from this
merchant's own customers (keyboard only) and fills in their name and last address; the region is a select of
the country's states for a country with a list and a text box otherwise; the phone field looks like the rest."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.tenancy import tenant_scope
from orders.services import ManualLine, order_create_manual
from tests.browser.conftest import LAPTOP, PHONE, assert_fits_width, page_problems
from tests.inventory.helpers import make_product

ADA = {"name": "Ada Lovelace", "line1": "12 Elm Street", "city": "Portland", "region": "OR",
       "postal_code": "97205", "country": "US", "phone": "+1 502-459-2181"}


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_pick_a_customer_by_email_and_a_state_from_the_list(signed_in, merchant_a, merchant_b, viewport):
    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "MUG", on_hand=5)
        order_create_manual(merchant=merchant_a.merchant, lines=[ManualLine(sku="MUG", quantity=1)],
                            customer_name="Ada Lovelace", customer_email="ada@example.com", shipping_address=ADA)
    with tenant_scope(merchant_b.merchant):  # another merchant's customer is never suggested
        make_product(merchant_b.merchant, "MUG", on_hand=5)
        order_create_manual(merchant=merchant_b.merchant, lines=[ManualLine(sku="MUG", quantity=1)],
                            customer_name="Adam Other", customer_email="adam@b.example",
                            shipping_address={**ADA, "name": "Adam Other"})
    page = signed_in(merchant_a, viewport=viewport)
    page.goto("/orders/new/")

    email = page.get_by_label("Customer email")
    email.press_sequentially("ad")
    options = page.get_by_role("listbox", name="Matches").get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("ada@example.com")
    expect(options.first).to_contain_text("Ada Lovelace · Portland")
    email.press("ArrowDown")
    email.press("Enter")

    expect(email).to_have_value("ada@example.com")
    expect(page.get_by_label("Customer name")).to_have_value("Ada Lovelace")
    expect(page.get_by_label("Address line 1")).to_have_value("12 Elm Street")
    expect(page.get_by_label("Country")).to_have_value("US")
    state = page.get_by_label("State")
    assert state.evaluate("e => e.tagName") == "SELECT"
    expect(state).to_have_value("OR")
    expect(page.get_by_label("Phone")).to_have_value("+1 502-459-2181")

    # the phone field is drawn like its neighbours
    look = "e => { const s = getComputedStyle(e); return [s.borderTopWidth, s.borderRadius, s.paddingLeft, s.width]; }"
    assert page.get_by_label("Phone").evaluate(look) == page.get_by_label("City").evaluate(look)
    assert page_problems(page) == []
    assert_fits_width(page)

    # a country without a list of regions: a text box, with the country's own word for it
    page.get_by_label("Country").select_option("GB")
    county = page.get_by_label("County")
    assert county.evaluate("e => e.tagName") == "INPUT"
    expect(county).to_have_value("")
    page.get_by_label("Country").select_option("CA")
    expect(page.get_by_label("Province").locator("option", has_text="Ontario")).to_have_count(1)
    assert page_problems(page) == []
