"""Issue 14 §3.5: each channel's package maps our carriers to its own words (Shopify's tracking company
names, Amazon's carrier codes, WooCommerce's free text); a carrier it does not know goes by its name."""

from __future__ import annotations

import pytest

from integrations.channels.amazon.carriers import carrier_code
from integrations.channels.shopify.carriers import TRACKING_COMPANIES, tracking_company
from integrations.channels.woocommerce.carriers import tracking_provider
from orders.carriers import CARRIERS


@pytest.mark.parametrize("stored,company", [("DHL Express", "DHL Express"), ("dhl express", "DHL Express"),
                                            ("FedEx", "FedEx"), ("Canada Post", "Canada Post"),
                                            ("Parcelforce", "Parcelforce"), ("", "")])
def test_shopify_gets_its_tracking_company_names(stored, company):
    assert tracking_company(stored) == company


def test_every_listed_carrier_has_a_shopify_name():
    assert set(TRACKING_COMPANIES) == {c.code for c in CARRIERS}


def test_amazon_gets_its_carrier_code_or_other_with_the_name():
    assert carrier_code("DHL Express") == ("DHL", "DHL Express")
    assert carrier_code("Evri") == ("Other", "Evri")
    assert carrier_code("Parcelforce") == ("Other", "Parcelforce")


def test_woocommerce_gets_the_name_and_our_link():
    assert tracking_provider("UPS", "1Z999AA10123456784") == ("UPS", "https://www.ups.com/track?tracknum=1Z999AA10123456784")
    assert tracking_provider("Parcelforce", "PF1") == ("Parcelforce", "")
