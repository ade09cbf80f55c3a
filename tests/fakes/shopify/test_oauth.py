"""OAuth endpoints: authorize redirect with state and a query HMAC, code exchange for an expiring offline
token, refresh with rotation, client credentials."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import requests

from tests.fakes.shopify import oauth_query_hmac
from tests.fakes.shopify.fixtures import graphql

SHOP_QUERY = "query { shop { name } }"
SCOPES = "read_orders,write_inventory"


def authorize(fake, shop, app, state="n0nce"):
    response = requests.get(f"{fake.base_url}/{shop.domain}/admin/oauth/authorize", params={
        "client_id": app.client_id, "scope": SCOPES, "redirect_uri": "https://switchboard.example.test/cb",
        "state": state, "grant_options[]": ""}, allow_redirects=False, timeout=10)
    return response, dict(parse_qsl(urlsplit(response.headers.get("Location", "")).query))


def token_request(fake, shop, payload, *, form=False):
    url = f"{fake.base_url}/{shop.domain}/admin/oauth/access_token"
    return requests.post(url, data=payload, timeout=10) if form else requests.post(url, json=payload, timeout=10)


def test_authorize_redirects_back_with_state_and_a_valid_hmac(clocked_fake, manual_clock):
    shop = clocked_fake.add_shop()
    app = clocked_fake.add_app(client_secret="shpss_test")

    response, callback = authorize(clocked_fake, shop, app)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://switchboard.example.test/cb?")
    assert callback["state"] == "n0nce"
    assert callback["shop"] == "demo-store.myshopify.com"
    assert callback["timestamp"] == str(int(manual_clock.time()))
    assert callback["hmac"] == oauth_query_hmac(callback, "shpss_test")
    assert oauth_query_hmac(dict(callback, state="other"), "shpss_test") != callback["hmac"]


def test_code_exchange_gives_an_expiring_token_and_refresh_rotates(clocked_fake, manual_clock):
    shop = clocked_fake.add_shop()
    app = clocked_fake.add_app(client_secret="shpss_test")
    _, callback = authorize(clocked_fake, shop, app)
    creds = {"client_id": app.client_id, "client_secret": "shpss_test"}

    granted = token_request(clocked_fake, shop, {**creds, "code": callback["code"], "expiring": "1"}).json()
    reused = token_request(clocked_fake, shop, {**creds, "code": callback["code"], "expiring": "1"})
    works = graphql(clocked_fake, shop.domain, granted["access_token"], SHOP_QUERY).status_code
    manual_clock.advance(3600)
    lapsed = graphql(clocked_fake, shop.domain, granted["access_token"], SHOP_QUERY).status_code
    refreshed = token_request(clocked_fake, shop, {**creds, "grant_type": "refresh_token",
                                                   "refresh_token": granted["refresh_token"]}).json()
    old_refresh = token_request(clocked_fake, shop, {**creds, "grant_type": "refresh_token",
                                                     "refresh_token": granted["refresh_token"]})
    new_works = graphql(clocked_fake, shop.domain, refreshed["access_token"], SHOP_QUERY).status_code

    assert granted["scope"] == SCOPES
    assert granted["expires_in"] == 3600
    assert granted["access_token"].startswith("shpat_") and granted["refresh_token"].startswith("shprt_")
    assert reused.status_code == 400
    assert reused.json() == {"error": "invalid_request",
                             "error_description": "The authorization code was not found or was already used"}
    assert (works, lapsed, new_works) == (200, 401, 200)
    assert refreshed["refresh_token"] != granted["refresh_token"]
    assert refreshed["expires_in"] == 3600
    assert old_refresh.status_code == 400
    assert old_refresh.json()["error"] == "invalid_grant"
    assert [c.grant_type for c in clocked_fake.calls(kind="oauth_token")] == [
        "authorization_code", "authorization_code", "refresh_token", "refresh_token"]


def test_non_expiring_exchange_and_form_encoded_body(shopify_fake, shopify_shop):
    app = shopify_fake.add_app(client_secret="shpss_test")
    _, callback = authorize(shopify_fake, shopify_shop, app)

    granted = token_request(shopify_fake, shopify_shop, {"client_id": app.client_id, "client_secret": "shpss_test",
                                                        "code": callback["code"]}, form=True).json()

    assert set(granted) == {"access_token", "scope"}
    assert shopify_fake.tokens[granted["access_token"]].expires_at is None


def test_wrong_client_secret_is_refused(shopify_fake, shopify_shop):
    app = shopify_fake.add_app(client_secret="shpss_test")
    _, callback = authorize(shopify_fake, shopify_shop, app)

    response = token_request(shopify_fake, shopify_shop, {"client_id": app.client_id, "client_secret": "wrong",
                                                          "code": callback["code"]})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"
    assert shopify_fake.codes[callback["code"]].used is False


def test_client_credentials_grant_has_no_refresh_token(shopify_fake, shopify_shop):
    app = shopify_fake.add_app(client_secret="shpss_test", scopes=["read_orders"])

    granted = token_request(shopify_fake, shopify_shop, {"client_id": app.client_id, "client_secret": "shpss_test",
                                                        "grant_type": "client_credentials"}).json()

    assert granted["scope"] == "read_orders"
    assert granted["expires_in"] == 86399
    assert "refresh_token" not in granted
    assert graphql(shopify_fake, shopify_shop.domain, granted["access_token"], SHOP_QUERY).status_code == 200
