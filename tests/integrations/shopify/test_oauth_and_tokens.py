"""The OAuth install flow against the fake (authorize URL with a state nonce, the callback's HMAC, shop
and state checked, code exchanged for an expiring offline token) and the refresh: once for many calls,
the rotated refresh token reported each time."""

from __future__ import annotations

import threading
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from core.http import AuthFailed
from integrations.channels.shopify.client import (
    OAuthRefused,
    authorize_url,
    exchange_code,
    new_state,
    query_hmac,
    verify_callback,
)
from tests.fakes.shopify import oauth_query_hmac

SCOPES = ["read_orders", "read_products", "read_inventory", "write_inventory", "read_locations"]
REDIRECT = "https://switchboard.example.test/integrations/shopify/callback/"


def install(fake, shop, app, settings, state):
    """The merchant clicks Install: our authorize URL → the fake's redirect back to our callback."""
    settings.SHOPIFY_API_BASE_URL = fake.base_url_template
    url = authorize_url(shop=shop.domain, client_id=app.client_id, scopes=SCOPES, redirect_uri=REDIRECT, state=state)
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return dict(parse_qsl(urlsplit(location).query))


def connected(fake, clock, settings):
    shop = fake.add_shop()
    app = fake.add_app(client_id="switchboard", client_secret="shpss_app_secret")
    settings.SHOPIFY_CLIENT_ID, settings.SHOPIFY_CLIENT_SECRET = app.client_id, app.client_secret
    state = new_state()
    callback = install(fake, shop, app, settings, state)
    assert verify_callback(callback, client_secret=app.client_secret, expected_state=state,
                           now=clock.time()) == shop.domain
    credentials = exchange_code(shop=shop.domain, code=callback["code"], client_id=app.client_id,
                                client_secret=app.client_secret, budget_key="test:oauth", clock=clock.time)
    return shop, app, credentials


def test_the_install_flow_gives_an_expiring_offline_token(clocked_fake, manual_clock, settings, make_adapter):
    shop, _, credentials = connected(clocked_fake, manual_clock, settings)

    assert credentials["shop_domain"] == shop.domain
    assert credentials["access_token"].startswith("shpat_")
    assert credentials["refresh_token"].startswith("shprt_")
    assert credentials["access_token_expires_at"] == manual_clock.time() + 3600
    assert credentials["scopes"] == SCOPES
    assert set(credentials) == {"shop_domain", "access_token", "refresh_token", "access_token_expires_at",
                                "refresh_token_expires_at", "scopes"}  # what the integration's blob accepts
    (grant,) = clocked_fake.calls(kind="oauth_token")
    assert grant.grant_type == "authorization_code"
    assert make_adapter(clocked_fake, credentials, clock=manual_clock).test_connection().missing_scopes == [
        "read_merchant_managed_fulfillment_orders", "write_merchant_managed_fulfillment_orders"]


def test_a_tampered_callback_is_refused(clocked_fake, manual_clock, settings):
    shop = clocked_fake.add_shop()
    app = clocked_fake.add_app(client_secret="shpss_app_secret")
    callback = install(clocked_fake, shop, app, settings, "n0nce")
    now = manual_clock.time()

    for tampered in (dict(callback, code="stolen"), dict(callback, hmac="0" * 64), dict(callback, timestamp="1")):
        with pytest.raises(OAuthRefused, match="HMAC"):
            verify_callback(tampered, client_secret=app.client_secret, expected_state="n0nce", now=now)
    with pytest.raises(OAuthRefused, match="HMAC"):
        verify_callback(callback, client_secret="another-apps-secret", expected_state="n0nce", now=now)
    with pytest.raises(OAuthRefused, match="state"):
        verify_callback(callback, client_secret=app.client_secret, expected_state="other", now=now)
    with pytest.raises(OAuthRefused, match="too old"):
        verify_callback(callback, client_secret=app.client_secret, expected_state="n0nce", now=now + 2 * 86400)
    assert verify_callback(callback, client_secret=app.client_secret, expected_state="n0nce", now=now) == shop.domain


@pytest.mark.parametrize("shop", ["evil.example.com", "demo-store.myshopify.com.evil.example",
                                  "-bad.myshopify.com", "demo store.myshopify.com", ""])
def test_a_foreign_shop_domain_is_refused_even_when_signed(shop):
    params = {"code": "abc", "shop": shop, "state": "n0nce", "timestamp": "1793620800"}
    params["hmac"] = oauth_query_hmac(params, "shpss_app_secret")  # what Shopify would sign: the check is ours

    with pytest.raises(OAuthRefused, match="shop"):
        verify_callback(params, client_secret="shpss_app_secret", expected_state="n0nce", now=1793620800)


def test_our_query_hmac_is_shopifys():
    params = {"code": "abc123", "host": "YWRtaW4", "shop": "demo-store.myshopify.com", "state": "n0nce",
              "timestamp": "1767225600", "hmac": "ignored", "signature": "ignored"}

    assert query_hmac(params, "hush") == oauth_query_hmac(params, "hush")


def test_an_expired_token_is_refreshed_once_for_many_calls(clocked_fake, manual_clock, settings, make_adapter):
    shop, _, credentials = connected(clocked_fake, manual_clock, settings)
    manual_clock.advance(3600 - 60)  # inside the refresh margin
    changes = []
    adapter = make_adapter(clocked_fake, credentials, clock=manual_clock, changed=changes.append)
    errors = []

    def call():
        try:
            adapter.test_connection()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for _ in range(3):
        adapter.fetch_listings()

    assert errors == []
    refreshes = clocked_fake.calls(kind="oauth_token")
    assert [c.grant_type for c in refreshes] == ["authorization_code", "refresh_token"]
    (changed,) = changes
    assert changed["refresh_token"] != credentials["refresh_token"]
    assert changed["access_token"] != credentials["access_token"]
    assert changed["access_token_expires_at"] == manual_clock.time() + 3600
    assert all(c.status == 200 for c in clocked_fake.calls())
    assert clocked_fake.tokens[changed["access_token"]].shop == shop.domain


def test_each_refresh_reports_the_rotated_refresh_token(clocked_fake, manual_clock, settings, make_adapter):
    _, _, credentials = connected(clocked_fake, manual_clock, settings)
    changes = []
    adapter = make_adapter(clocked_fake, credentials, clock=manual_clock, changed=changes.append)

    for _ in range(3):
        manual_clock.advance(3600)
        adapter.test_connection()

    assert len(changes) == 3
    assert len({c["refresh_token"] for c in changes} | {credentials["refresh_token"]}) == 4
    assert adapter.credentials == changes[-1]


def test_a_token_refused_before_its_time_is_refreshed_once_then_auth_failed(clocked_fake, manual_clock, settings,
                                                                           make_adapter):
    _, _, credentials = connected(clocked_fake, manual_clock, settings)
    clocked_fake.revoke(credentials["access_token"])
    changes = []
    adapter = make_adapter(clocked_fake, credentials, clock=manual_clock, changed=changes.append)

    adapter.test_connection()  # 401, one refresh, then served
    clocked_fake.revoke(changes[0]["access_token"])
    clocked_fake.refresh_tokens[changes[0]["refresh_token"]].used = True  # the merchant uninstalled the app

    with pytest.raises(AuthFailed):
        adapter.test_connection()
    assert [c.status for c in clocked_fake.calls()] == [401, 200, 200, 401]  # connection, locations; then refused
    assert [c.status for c in clocked_fake.calls(kind="oauth_token")] == [200, 200, 400]
