"""A new merchant's first hour, end to end in a real browser at 1280 and 390 px, against the project's Shopify
fake (the store `make demo-store` serves): sign up with the business's name, currency and time zone → the home
page's checklist → connect the store → bring in its catalog with the store's quantities → an order arrives →
ship it → the checklist ticks, and the store shows the fulfilment with its tracking number.

Every step is what the merchant clicks; the only things done behind the browser are the store's side (the
fake takes a customer's order) and reading the database to check what the pages claim.
"""

from __future__ import annotations

import random
import re
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import expect

from accounts.models import Membership
from accounts.tenancy import tenant_scope, unscoped
from inventory.models import Product, StockLevel
from orders.models import Order
from tests.browser.conftest import LAPTOP, PHONE, assert_fits_width, page_problems
from tests.fakes.shopify import demo
from tests.fakes.shopify.fixtures import shopify_fake  # noqa: F401

PASSWORD = "a-long-enough-password-1"
SKUS = [sku for _title, variants in demo.CATALOG for _v, sku, _price in variants]


@pytest.fixture
def demo_store(shopify_fake, settings):  # noqa: F811
    """The demo store's catalog (100 of each SKU on the store) and a token, with Switchboard pointed at the fake
    as `make demo-store` tells a person to point it (SHOPIFY_API_BASE_URL, OUTBOUND_ALLOWED_PRIVATE_HOSTS)."""
    shop, token = demo.build(shopify_fake)
    settings.SHOPIFY_API_BASE_URL = shopify_fake.base_url_template
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = [urlsplit(shopify_fake.base_url).hostname]
    return shop, token


def _checklist_done(page) -> set[str]:
    return set(page.locator("#setup-checklist li.done").evaluate_all("els => els.map(e => e.dataset.step)"))


def _check_page(page) -> None:
    assert page_problems(page) == []
    assert_fits_width(page)


@pytest.mark.parametrize("viewport,email", [(LAPTOP, "mara@firsthour.example"), (PHONE, "tomas@firsthour.example")],
                         ids=["laptop", "phone"])
def test_a_new_merchants_first_hour(browser, live_server, shopify_fake, demo_store, viewport, email):  # noqa: F811
    shop, token = demo_store
    rng = random.Random(7)
    context = browser.new_context(viewport=viewport, base_url=live_server.url, timezone_id="America/Chicago")
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()

        # Sign up: business name, currency, and the zone the browser is in.
        page.goto("/accounts/signup/")
        expect(page.get_by_label("Time zone")).to_have_value("America/Chicago")
        page.locator("input[name=email]").fill(email)
        page.locator("input[name=password1]").fill(PASSWORD)
        page.locator("input[name=password2]").fill(PASSWORD)
        page.get_by_label("Business name").fill("Northwind Coffee Gear")
        page.get_by_label("Currency").select_option("USD")
        page.locator("form[action*=signup] button[type=submit]").click()
        page.wait_for_url(lambda url: "/accounts/" not in url)
        with unscoped("test assertion"):
            merchant = Membership.objects.select_related("merchant").get(user__email=email).merchant
        assert (merchant.name, merchant.currency, merchant.timezone) == (
            "Northwind Coffee Gear", "USD", "America/Chicago")

        # The home page is a checklist, nothing done yet.
        checklist = page.locator("#setup-checklist")
        expect(checklist.locator("[data-checklist=progress]")).to_have_text("0 of 6 done")
        assert _checklist_done(page) == set()
        _check_page(page)

        # Connect the store with the demo store's credentials: test first, then save.
        checklist.get_by_role("link", name="Connect a store").click()
        page.wait_for_url("**/integrations/")
        page.get_by_role("link", name="Connect a Shopify store").click()
        page.get_by_label("Name in Switchboard").fill("Demo store")
        page.get_by_label("Shop domain").fill(demo.SHOP)
        page.get_by_label("Admin API access token").fill(token)
        page.get_by_label("API secret key (client secret)").fill(demo.CLIENT_SECRET)
        page.get_by_role("button", name="Test connection").click()
        expect(page.get_by_role("status")).to_contain_text("Connection works: Demo Store")
        _check_page(page)
        page.get_by_role("button", name="Save and connect").click()
        page.wait_for_url(re.compile(r"/integrations/\d+/$"))
        expect(page.get_by_text("Demo store is connected")).to_be_visible()

        # Its listings came in with the connection; none is one of our products yet.
        page.reload()
        for sku in SKUS:
            expect(page.locator("body")).to_contain_text(sku)
        _check_page(page)

        # Bring in the catalog: every listing becomes a product, with the store's quantity as opening stock.
        page.get_by_role("button", name="Import all unmatched as products").click()
        expect(page.locator("body")).to_contain_text("Import")
        with tenant_scope(merchant):
            products = dict(Product.objects.filter(merchant=merchant).values_list("sku", "title"))
            on_hand = dict(StockLevel.objects.filter(merchant=merchant).values_list("product__sku", "on_hand"))
        assert sorted(products) == sorted(SKUS)
        assert on_hand == {sku: 100 for sku in SKUS}

        page.goto("/")
        expect(checklist.locator("[data-checklist=progress]")).to_have_text("3 of 6 done")
        assert _checklist_done(page) == {"integrations.store", "inventory.catalog", "inventory.stock"}
        _check_page(page)

        # A customer orders on the store; the merchant syncs the store and the order is in the queue, ready.
        number = demo.new_order(shopify_fake, shop, rng)
        page.goto("/integrations/")
        page.get_by_role("link", name="Demo store").first.click()
        page.get_by_role("button", name="Sync now").click()
        expect(page.get_by_text("Sync started")).to_be_visible()
        page.goto("/orders/?tab=awaiting")
        expect(page.get_by_role("link", name=number).first).to_be_visible()
        _check_page(page)
        with tenant_scope(merchant):
            order = Order.objects.get(merchant=merchant, number=number)
            assert (order.needs_attention, order.is_short) == (False, False)

        # Ship it by hand from the order page: carrier, tracking number, shipped now.
        page.get_by_role("link", name=number).first.click()
        page.wait_for_url(f"**/orders/{order.pk}/")
        _check_page(page)
        page.get_by_label("Carrier", exact=True).select_option(label="UPS")
        page.get_by_label("Tracking number").first.fill("1Z999AA10123456784")
        page.get_by_label("Mark shipped now").check()
        page.get_by_role("button", name="Create shipment").click()
        expect(page.locator("body")).to_contain_text("1Z999AA10123456784")
        with tenant_scope(merchant):
            order.refresh_from_db()
            assert order.status == "fulfilled"
        # The store has the fulfilment, with the tracking number (pushed after the shipment committed).
        status = requests.get(f"{shopify_fake.base_url}/_fake/status", timeout=10).json()
        shipped = {o["name"]: o for o in status["shops"][0]["orders"]}[number]
        assert shipped["fulfillment_status"] == "FULFILLED", shipped
        assert [t["number"] for f in shipped["fulfillments"] for t in f["tracking"]] == ["1Z999AA10123456784"]

        # Back home: the steps done are ticked, and nothing claims a store problem.
        page.goto("/")
        expect(checklist.locator("[data-checklist=progress]")).to_have_text("3 of 6 done")
        assert _checklist_done(page) == {"integrations.store", "inventory.catalog", "inventory.stock"}
        expect(checklist.locator("li.todo a")).to_have_text(
            ["Set the ship-from address", "Add a carrier account", "Invite the team"])
        _check_page(page)
    finally:
        context.close()
