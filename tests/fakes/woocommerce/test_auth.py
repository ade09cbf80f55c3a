"""Authentication as class-wc-rest-authentication.php does it: OAuth 1.0a over plain HTTP (signature,
timestamp window, nonce reuse), Basic only over TLS, the key's read/write permission and the user's
capability, and the real 401/403 bodies."""

from __future__ import annotations

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1

from tests.fakes.shopify.state import ManualClock

from .client_for_tests import basic_call, oauth_call
from .server import WooCommerceFake

NOT_SIGNED = {"code": "woocommerce_rest_authentication_error",
              "message": "Invalid signature - provided signature does not match.", "data": {"status": 401}}


def test_an_hmac_sha256_signature_in_the_header_is_accepted_over_http(woo_fake, woo_key):
    woo_fake.store.add_product("MUG-1")

    response = oauth_call(woo_fake, woo_key, "GET", "/products", {"per_page": 5, "sku": "MUG-1"})

    assert response.status_code == 200
    assert [p["sku"] for p in response.json()] == ["MUG-1"]
    assert woo_fake.calls()[-1].auth == "oauth"


def test_hmac_sha1_is_accepted_too(woo_fake, woo_key):
    response = oauth_call(woo_fake, woo_key, "GET", "/orders", signature_method=SIGNATURE_HMAC_SHA1)

    assert response.status_code == 200


def test_a_signature_made_with_the_wrong_secret_is_refused(woo_fake, woo_key):
    response = oauth_call(woo_fake, woo_key, "GET", "/orders", secret="cs_wrong")

    assert response.status_code == 401
    assert response.json() == NOT_SIGNED


def test_a_signature_over_other_query_parameters_is_refused(woo_fake, woo_key):
    signed = oauth_call(woo_fake, woo_key, "GET", "/orders", {"per_page": 5})
    tampered = requests.get(signed.request.url.replace("per_page=5", "per_page=6"),
                            headers={"Authorization": signed.request.headers["Authorization"]}, timeout=10)

    assert signed.status_code == 200
    assert tampered.status_code == 401
    assert tampered.json() == NOT_SIGNED


def test_an_unknown_consumer_key_is_refused_by_name(woo_fake, woo_key):
    woo_fake.revoke_key(woo_key.consumer_key)

    response = oauth_call(woo_fake, woo_key, "GET", "/orders")

    assert response.status_code == 401
    assert response.json() == {"code": "woocommerce_rest_authentication_error", "message": "Consumer key is invalid.",
                               "data": {"status": 401}}


def test_a_timestamp_outside_fifteen_minutes_is_refused():
    clock = ManualClock()
    with WooCommerceFake(clock=clock) as fake:
        key = fake.add_key()
        now = int(clock.time())

        late = oauth_call(fake, key, "GET", "/orders", timestamp=now - 15 * 60 - 1)
        early = oauth_call(fake, key, "GET", "/orders", timestamp=now + 15 * 60 + 1)
        edge = oauth_call(fake, key, "GET", "/orders", timestamp=now - 15 * 60)

    assert [late.status_code, early.status_code, edge.status_code] == [401, 401, 200]
    assert late.json()["message"] == "Invalid timestamp."
    assert early.json()["code"] == "woocommerce_rest_authentication_error"


def test_a_nonce_used_again_is_refused(woo_fake, woo_key):
    first = oauth_call(woo_fake, woo_key, "GET", "/orders", nonce="n" * 32)
    replay = oauth_call(woo_fake, woo_key, "GET", "/orders", nonce="n" * 32)
    fresh = oauth_call(woo_fake, woo_key, "GET", "/orders", nonce="m" * 32)

    assert [first.status_code, replay.status_code, fresh.status_code] == [200, 401, 200]
    assert replay.json() == {"code": "woocommerce_rest_authentication_error",
                             "message": "Invalid nonce - nonce has already been used.", "data": {"status": 401}}


def test_oauth_parameters_in_the_query_string_are_read_too(woo_fake, woo_key):
    signed = oauth_call(woo_fake, woo_key, "GET", "/orders")
    header = signed.request.headers["Authorization"]
    params = dict(part.strip().split("=", 1) for part in header[len("OAuth "):].split(","))
    query = "&".join(f"{k}={v.strip(chr(34))}" for k, v in params.items())
    replay_in_query = requests.get(f"{woo_fake.api_url}/orders?{query}", timeout=10)

    assert signed.status_code == 200
    assert replay_in_query.status_code == 401  # the same nonce, now in the query string, is still a replay
    assert replay_in_query.json()["message"] == "Invalid nonce - nonce has already been used."


def test_a_partial_set_of_oauth_parameters_names_what_is_missing(woo_fake, woo_key):
    response = requests.get(f"{woo_fake.api_url}/orders", params={"oauth_consumer_key": woo_key.consumer_key},
                            timeout=10)

    assert response.status_code == 401
    assert response.json() == {
        "code": "woocommerce_rest_authentication_missing_parameter",
        "message": "Missing OAuth parameters oauth_timestamp, oauth_nonce, oauth_signature, oauth_signature_method",
        "data": {"status": 401}}


def test_basic_auth_over_plain_http_is_not_looked_at(woo_fake, woo_key):
    response = requests.get(f"{woo_fake.api_url}/orders", auth=(woo_key.consumer_key, woo_key.consumer_secret),
                            timeout=10)

    assert response.status_code == 401
    assert response.json() == {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                               "data": {"status": 401}}


def test_no_credentials_on_a_single_resource_is_cannot_view(woo_fake):
    order = woo_fake.place_order()

    response = requests.get(f"{woo_fake.api_url}/orders/{order['id']}", timeout=10)

    assert response.status_code == 401
    assert response.json()["code"] == "woocommerce_rest_cannot_view"
    assert response.json()["message"] == "Sorry, you cannot view this resource."


def test_basic_auth_over_tls_is_accepted(woo_https_fake):
    key = woo_https_fake.add_key()
    woo_https_fake.store.add_product("MUG-1")

    response = basic_call(woo_https_fake, key, "GET", "/products")

    assert woo_https_fake.base_url.startswith("https://127.0.0.1:")
    assert response.status_code == 200
    assert [p["sku"] for p in response.json()] == ["MUG-1"]
    assert woo_https_fake.calls()[-1].auth == "basic"


def test_a_wrong_secret_over_tls_is_refused_with_the_basic_challenge(woo_https_fake):
    key = woo_https_fake.add_key()

    response = basic_call(woo_https_fake, key, "GET", "/products", secret="cs_wrong")

    assert response.status_code == 401
    assert response.json() == {"code": "woocommerce_rest_authentication_error", "message": "Consumer secret is invalid.",
                               "data": {"status": 401}}
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="WooCommerce API.')


def test_keys_in_the_query_string_work_over_tls(woo_https_fake):
    key = woo_https_fake.add_key()

    response = requests.get(f"{woo_https_fake.api_url}/orders", verify=woo_https_fake.ca_bundle, timeout=10,
                            params={"consumer_key": key.consumer_key, "consumer_secret": key.consumer_secret})

    assert response.status_code == 200


def test_a_read_only_key_is_refused_on_writes(woo_fake):
    key = woo_fake.add_key(permissions="read")
    product = woo_fake.store.add_product("MUG-1", stock_quantity=5)

    read = oauth_call(woo_fake, key, "GET", f"/products/{product['id']}")
    write = oauth_call(woo_fake, key, "PUT", f"/products/{product['id']}", json={"stock_quantity": 1})

    assert read.status_code == 200
    assert write.status_code == 401
    assert write.json() == {"code": "woocommerce_rest_authentication_error",
                            "message": "The API key provided does not have write permissions.",
                            "data": {"status": 401}}
    assert woo_fake.store.products[product["id"]]["stock_quantity"] == 5


def test_a_key_of_a_user_who_may_not_edit_is_refused_by_the_endpoint(woo_fake):
    key = woo_fake.add_key(user_can_edit=False)
    product = woo_fake.store.add_product("MUG-1", stock_quantity=5)

    single = oauth_call(woo_fake, key, "PUT", f"/products/{product['id']}", json={"stock_quantity": 1})
    batch = oauth_call(woo_fake, key, "POST", "/products/batch",
                       json={"update": [{"id": product["id"], "stock_quantity": 1}]})

    assert single.status_code == 403
    assert single.json() == {"code": "woocommerce_rest_cannot_edit",
                             "message": "Sorry, you are not allowed to edit this resource.", "data": {"status": 403}}
    assert batch.status_code == 403
    assert batch.json()["code"] == "woocommerce_rest_cannot_batch"
    assert woo_fake.store.products[product["id"]]["stock_quantity"] == 5


def test_an_unknown_route_is_rest_no_route(woo_fake, woo_key):
    response = oauth_call(woo_fake, woo_key, "GET", "/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"code": "rest_no_route",
                               "message": "No route was found matching the URL and request method",
                               "data": {"status": 404}}


def test_without_pretty_permalinks_wp_json_is_a_404_page():
    with WooCommerceFake(pretty_permalinks=False) as fake:
        response = requests.get(f"{fake.base_url}/wp-json/", timeout=10)

    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
