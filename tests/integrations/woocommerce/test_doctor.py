"""The connection doctor for a WooCommerce store: products listed with "Manage stock" off named first, a plain
http store, read-only keys; the generic findings (SKUs listed twice) still there."""

from __future__ import annotations

import pytest

from integrations.models import Integration, Listing
from integrations.selectors import integration_doctor
from integrations.tasks import integration_poll_task
from tests.fakes.woocommerce import WooCommerceFake
from tests.integrations.helpers import make_integration
from tests.integrations.sync.conftest import run_connect
from tests.integrations.woocommerce.conftest import woo_store

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
    assert findings[0].message.endswith(": MUG-1.") and findings[0].message.startswith("1 listed product has")
    assert "sku_listed_twice" in codes


def test_a_healthy_https_store_has_none_of_them(scope_a):
    store = make_integration(scope_a.merchant, channel="woocommerce", credentials={
        "store_url": "https://shop.example.com", "consumer_key": "ck_x", "consumer_secret": "cs_x"})
    _listing(store, "11", "MUG-1", manage_stock=True)

    codes = {f.code for f in integration_doctor(merchant=scope_a.merchant, integration=store)}

    assert not codes & {"stock_not_managed", "store_not_https", "keys_read_only", "location_not_mapped"}


# ---------------------------------------------------------------- through the sync engine against the fake


def _store_with_key(fake, merchant, key):
    return Integration.objects.create(merchant=merchant, channel="woocommerce", name="Woo shop",
                                      account_ref=fake.base_url,
                                      credentials={"store_url": fake.base_url, "consumer_key": key.consumer_key,
                                                   "consumer_secret": key.consumer_secret})


@pytest.mark.parametrize("key_kwargs", [
    {"permissions": "read"},  # WooCommerce: 401 woocommerce_rest_authentication_error "...no write permissions"
    {"user_can_edit": False},  # a user without the capability: 403 woocommerce_rest_cannot_edit/_batch
], ids=["read-only key", "user who may not edit"])
def test_keys_that_may_only_read_are_named_either_way(scope_a, woo_fake, woo_channel_settings, key_kwargs):
    store = _store_with_key(woo_fake, scope_a.merchant, woo_fake.add_key(**key_kwargs))

    run_connect(scope_a.merchant, store)

    findings = {f.code: f for f in integration_doctor(merchant=scope_a.merchant, integration=store)}
    assert store.checkpoints["missing_scopes"] == ["write"]
    assert "keys_read_only" in findings and "Read/Write" in findings["keys_read_only"].fix


def test_no_pretty_permalinks_is_named_with_its_fix(scope_a, woo_channel_settings):
    with WooCommerceFake(timezone="America/New_York", pretty_permalinks=False) as fake:
        store = _store_with_key(fake, scope_a.merchant, fake.add_key())
        run_connect(scope_a.merchant, store)

    findings = {f.code: f for f in integration_doctor(merchant=scope_a.merchant, integration=store)}
    assert "rest_api_not_found" in findings and findings["rest_api_not_found"].severity == "error"
    assert "pretty permalinks" in findings["rest_api_not_found"].message
    assert "Settings → Permalinks" in findings["rest_api_not_found"].fix


def test_webhooks_the_store_disabled_or_deleted_are_named_and_restored(scope_a, woo_fake, woo_channel_settings):
    store = woo_store(woo_fake, scope_a.merchant).integration
    run_connect(scope_a.merchant, store)
    assert "webhooks_restored" not in {f.code for f in integration_doctor(merchant=scope_a.merchant, integration=store)}
    hooks = {h.topic: h for h in woo_fake.store.webhooks.values()}
    hooks["order.created"].status = "disabled"  # what WooCommerce does after deliveries keep failing
    del woo_fake.store.webhooks[hooks["order.updated"].id]  # deleted by hand in wp-admin

    integration_poll_task.apply(kwargs={"merchant_id": scope_a.merchant.pk, "integration_id": store.pk})
    store.refresh_from_db()

    findings = {f.code: f for f in integration_doctor(merchant=scope_a.merchant, integration=store)}
    assert findings["webhooks_restored"].message.startswith(
        "The store had disabled our webhooks for order.created and deleted our webhooks for order.updated")
    assert sorted((h.topic, h.status) for h in woo_fake.store.webhooks.values()) == [
        ("order.created", "active"), ("order.deleted", "active"), ("order.updated", "active"),
        ("product.updated", "active")]

    integration_poll_task.apply(kwargs={"merchant_id": scope_a.merchant.pk, "integration_id": store.pk})
    store.refresh_from_db()
    assert "webhooks_restored" not in {f.code for f in integration_doctor(merchant=scope_a.merchant, integration=store)}
