"""In a real browser: a bulk cancel asks for confirmation and a reason, then reports by order number; a manual
order with an address and two lines (the second added with the button, prices filled from the SKU search) is
saved and shown on its page."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from accounts.tenancy import tenant_scope
from inventory.models import Product
from orders import services
from orders.models import Order, OrderEvent
from tests.browser.conftest import PHONE, assert_fits_width
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized


def _statuses(m, orders) -> list[str]:
    with tenant_scope(m):
        return list(Order.objects.filter(merchant=m, pk__in=[o.pk for o in orders]).order_by("pk")
                    .values_list("status", flat=True))


def test_a_bulk_cancel_asks_for_confirmation_and_reports_by_order_number(signed_in, merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=20)
        orders = [services.order_ingest(merchant=m, integration_id=None, normalized=normalized(str(n))).order
                  for n in (1001, 1002, 1003)]
    page = signed_in(merchant_a)
    page.goto("/orders/")
    expect(page.locator("select[name=action]")).to_have_value("")  # nothing destructive chosen
    page.get_by_label("Select #1001").check()
    page.get_by_label("Select #1002").check()
    page.locator("select[name=action]").select_option("cancel")
    page.get_by_role("button", name="Apply").click()
    # the confirmation page: what happens on the channel, and a reason before anything changes
    expect(page.get_by_role("heading", name="Cancel: 2 orders?")).to_be_visible()
    expect(page.get_by_text("Cancelled here only: Shopify is not told.")).to_be_visible()
    expect(page.get_by_text("Orders: #1001, #1002.")).to_be_visible()
    confirm = page.get_by_role("button", name="Cancel: 2 orders")
    confirm.click()  # no reason: the browser keeps the form here
    assert "/orders/bulk/" in page.url
    assert _statuses(m, orders) == ["unfulfilled"] * 3
    page.get_by_label("Reason (recorded on each order)").fill("Customer called to cancel")
    confirm.click()
    expect(page.get_by_text("2 orders cancelled — #1001, #1002.")).to_be_visible()
    # the confirmation step fits a phone too
    phone = signed_in(merchant_a, viewport=PHONE)
    phone.goto("/orders/")
    phone.get_by_label("Select #1003").check()
    phone.locator("#queue-tools > summary").click()  # a phone folds the bulk bar with the filters
    phone.locator("select[name=action]").select_option("fulfill")
    phone.get_by_role("button", name="Apply").click()
    expect(phone.get_by_text("Shopify is told the order shipped, with no tracking number")).to_be_visible()
    assert_fits_width(phone)
    assert _statuses(m, orders) == ["cancelled", "cancelled", "unfulfilled"]
    with tenant_scope(m):
        assert list(OrderEvent.objects.filter(merchant=m, kind=OrderEvent.Kind.CANCELLED).order_by("order_id")
                    .values_list("message", flat=True)) == ["Customer called to cancel"] * 2


def test_a_manual_order_with_an_address_and_two_lines(signed_in, merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "MUG", on_hand=5)
        make_product(m, "BOWL", on_hand=5)
        Product.objects.filter(merchant=m, sku="MUG").update(price=Decimal("12.50"))
        Product.objects.filter(merchant=m, sku="BOWL").update(price=Decimal("8.00"))
    page = signed_in(merchant_a)
    page.goto("/orders/new/")
    page.get_by_label("Customer name").fill("Grace Hopper")
    page.get_by_label("Customer email").fill("grace@example.com")
    page.get_by_label("Country").select_option("US")
    expect(page.locator("[data-label=region]")).to_have_text("State")  # the country's own words
    page.get_by_label("Address line 1").fill("1 Main St")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("State").select_option("IL")  # a country with a list of states: a select
    page.get_by_label("ZIP code").fill("62701")
    # first line: the SKU search fills in the product's price
    page.locator("input[name='form-0-sku']").fill("MUG")
    expect(page.locator("input[name='form-0-unit_price']")).to_have_value("12.50")
    page.locator("input[name='form-0-quantity']").fill("2")
    # second line, added with the button
    page.get_by_role("button", name="Add a line").click()
    page.locator("input[name='form-1-sku']").fill("BOWL")
    expect(page.locator("input[name='form-1-unit_price']")).to_have_value("8.00")
    page.locator("input[name='form-1-quantity']").fill("1")
    page.get_by_role("button", name="Create order").click()
    expect(page.get_by_text("created and its stock reserved")).to_be_visible()
    with tenant_scope(m):
        order = Order.objects.get(merchant=m, channel="manual")
        assert [(li.sku, li.quantity, li.unit_price_amount) for li in order.lines.all()] == [
            ("MUG", 2, Decimal("12.50")), ("BOWL", 1, Decimal("8.00"))]
        assert (order.shipping_address["region"], order.total_amount) == ("IL", Decimal("33.00"))
    assert page.url.endswith(f"/orders/{order.pk}/")
    expect(page.locator("address.ship-to")).to_contain_text("Springfield, IL 62701")
    # and the form is usable on a phone
    phone = signed_in(merchant_a, viewport=PHONE)
    phone.goto("/orders/new/")
    assert_fits_width(phone)
