"""Connecting a WooCommerce store: the API's shapes with `"channel": "woocommerce"` and errors naming the field,
and the generic connect page built from the package's form, "Test connection" included."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope, unscoped
from integrations.models import Integration

pytestmark = pytest.mark.django_db


def _credentials(fake, key, **changes):
    return {"store_url": fake.base_url, "consumer_key": key.consumer_key, "consumer_secret": key.consumer_secret,
            **changes}


def test_the_api_connects_a_store_and_never_returns_the_keys(merchant_a, woo_fake, woo_key, woo_channel_settings,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = merchant_a.api.post("/api/v1/integrations/", {
            "channel": "woocommerce", "name": "Woo",
            "credentials": _credentials(woo_fake, woo_key, store_url=woo_fake.base_url + "/")}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["channel"], body["account_ref"]) == ("woocommerce", woo_fake.base_url)
    assert woo_key.consumer_secret not in response.content.decode()
    with unscoped("test"):
        row = Integration.objects.get(pk=body["id"])
    assert row.credentials["store_url"] == woo_fake.base_url
    # the connect job made our own webhook secret and subscribed with it
    assert {h.secret for h in woo_fake.store.webhooks.values()} == {row.credentials["webhook_secret"]}


@pytest.mark.parametrize(("changes", "field"), [
    ({"store_url": "ftp://shop.example.com"}, "store_url"),
    ({"store_url": "http://shop.example.com"}, "store_url"),  # plain http only for an allowed private host
    ({"store_url": "https://10.0.0.8"}, "store_url"),  # a private address
    ({"store_url": "not a url"}, "store_url"),
    ({"consumer_key": ""}, "consumer_key"),
    ({"consumer_secret": "secret-without-prefix"}, "consumer_secret"),
    ({"extra": "x"}, "extra"),
])
def test_bad_credentials_are_400_naming_the_field(merchant_a, woo_fake, woo_key, changes, field):
    response = merchant_a.api.post("/api/v1/integrations/", {
        "channel": "woocommerce", "name": "Woo", "credentials": _credentials(woo_fake, woo_key, **changes)},
        format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert list(error["details"]["fields"]["credentials"]) == [field]
    with tenant_scope(merchant_a.merchant):
        assert Integration.objects.count() == 0


def test_the_connect_page_is_the_packages_form_and_test_connection_says_what_it_found(merchant_a, woo_fake):
    read_only = woo_fake.add_key(permissions="read")

    page = merchant_a.web.get("/integrations/connect/woocommerce/").content.decode()
    tested = merchant_a.web.post("/integrations/connect/woocommerce/token/", {
        "store_url": woo_fake.base_url, "consumer_key": read_only.consumer_key,
        "consumer_secret": read_only.consumer_secret, "action": "test"})
    body = tested.content.decode()

    assert 'name="store_url"' in page and 'type="password" name="consumer_secret"' in page
    assert "Manage stock" in page
    assert tested.status_code == 200
    assert "Fake Woo Store" in body and "<code>write</code>" in body
    assert read_only.consumer_secret not in body
    with tenant_scope(merchant_a.merchant):
        assert Integration.objects.count() == 0


def test_refused_keys_are_reported_in_woocommerces_words_and_not_saved(merchant_a, woo_fake, woo_key):
    response = merchant_a.web.post("/integrations/connect/woocommerce/token/", {
        "store_url": woo_fake.base_url, "consumer_key": woo_key.consumer_key,
        "consumer_secret": "cs_" + "0" * 40, "action": "save"})

    assert response.status_code == 400
    assert "WooCommerce refused the consumer key and secret" in response.content.decode()
    with tenant_scope(merchant_a.merchant):
        assert Integration.objects.count() == 0
