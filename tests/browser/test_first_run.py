"""A new merchant signs up with their business's name, currency and time zone (the zone pre-filled from the
browser's), lands on the home page's setup checklist, and follows its first step; at 1280 and 390 px."""

from __future__ import annotations

import pytest

from accounts.models import Membership
from accounts.tenancy import unscoped
from tests.browser.conftest import LAPTOP, PHONE, assert_fits_width, page_problems

PASSWORD = "a-long-enough-password-1"


@pytest.mark.parametrize("viewport,zone,email", [
    (LAPTOP, "Asia/Tokyo", "kenji@first.example"),
    (PHONE, "America/New_York", "nia@first.example"),
])
def test_a_new_merchant_signs_up_with_name_currency_and_zone_and_sees_the_checklist(
        browser, live_server, viewport, zone, email):
    context = browser.new_context(viewport=viewport, base_url=live_server.url, timezone_id=zone)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto("/accounts/signup/")
        # the zone select starts at the browser's own zone, not the server's UTC
        assert page.get_by_label("Time zone").input_value() == zone
        assert page_problems(page) == []
        assert_fits_width(page)

        page.locator("input[name=email]").fill(email)
        page.locator("input[name=password1]").fill(PASSWORD)
        page.locator("input[name=password2]").fill(PASSWORD)
        page.get_by_label("Business name").fill("First Light Candles")
        page.get_by_label("Currency").select_option("EUR")
        page.locator("form[action*=signup] button[type=submit]").click()

        page.wait_for_url(lambda url: "/accounts/" not in url)
        checklist = page.locator("#setup-checklist")
        assert "0 of 6 done" in checklist.inner_text()
        for step in ("Connect a store", "Bring in the catalog", "Set stock", "Set the ship-from address",
                     "Add a carrier account", "Invite the team"):
            assert checklist.get_by_role("link", name=step).is_visible()
        assert "Every connected store is syncing" not in page.content()
        assert page_problems(page) == []
        assert_fits_width(page)

        with unscoped("test assertion"):
            merchant = Membership.objects.select_related("merchant").get(user__email=email).merchant
        assert (merchant.name, merchant.currency, merchant.timezone) == ("First Light Candles", "EUR", zone)

        checklist.get_by_role("link", name="Connect a store").click()
        page.wait_for_url("**/integrations/")
        assert page.get_by_role("link", name="Connect a Shopify store").is_visible()
    finally:
        context.close()
