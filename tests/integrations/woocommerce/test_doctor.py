"""The connection doctor for a WooCommerce store: products listed with "Manage stock" off named first, a plain
http store, read-only keys; the generic findings (SKUs listed twice) still there."""

from __future__ import annotations

import pytest

from integrations.models import Listing
from integrations.selectors import integration_doctor
from tests.integrations.helpers import make_integration

pytestmark = pytest.mark.django_db


def _listing(store, external_id, sku, *, manage_stock, pushed=None):
    return Listing.objects.create(merchant=store.merchant, integration=store, external_id=external_id,
                                  channel_ref=external_id, sku=sku, title=f"Product {sku}",
                                  channel_data={"type": "simple", "manage_stock": manage_stock},
                                  last_pushed_quantity=pushed)


def test_the_doctor_names_unmanaged_stock_plain_http_and_read_only_keys(scope_a):
    m = scope_a.merchant
    store = make_integration(m, channel="woocommerce", credentials={
        "store_url": "http://127.0.0.1:8080", "consumer_key": "ck_x", "consumer_secret": "cs_x"})
    store.checkpoints = {"missing_scopes": ["write"]}
    store.save(update_fields=["checkpoints"])
    _listing(store, "11", "MUG-1", manage_stock=False)
    _listing(store, "12", "MUG-2", manage_stock=False, pushed=4)  # our push turned it on already
    _listing(store, "13", "TEE", manage_stock=True)
    _listing(store, "14", "tee", manage_stock=True)

    findings = integration_doctor(merchant=m, integration=store)

    codes = [f.code for f in findings]
    assert codes[:3] == ["stock_not_managed", "store_not_https", "keys_read_only"]
    assert findings[0].message.endswith(": MUG-1.") and findings[0].message.startswith("1 listed product(s)")
    assert "sku_listed_twice" in codes


def test_a_healthy_https_store_has_none_of_them(scope_a):
    store = make_integration(scope_a.merchant, channel="woocommerce", credentials={
        "store_url": "https://shop.example.com", "consumer_key": "ck_x", "consumer_secret": "cs_x"})
    _listing(store, "11", "MUG-1", manage_stock=True)

    codes = {f.code for f in integration_doctor(merchant=scope_a.merchant, integration=store)}

    assert not codes & {"stock_not_managed", "store_not_https", "keys_read_only", "location_not_mapped"}
