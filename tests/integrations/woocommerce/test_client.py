"""The WooCommerce client against the fake store: OAuth 1.0a over plain HTTP and Basic over HTTPS, keys never
in a query string, pages until X-WP-TotalPages, the GMT modified window, batches of at most 100 with
per-item errors, notes, tracking, webhooks, and errors in the family with WooCommerce's words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.http import AuthFailed, Rejected, Throttled, Transient
from integrations.channels.woocommerce.client import (
    StockPush,
    WooAuthFailed,
    WooCommerceClient,
    WooRejected,
    WooThrottled,
    WooTransient,
)
from tests.fakes.woocommerce import WooCommerceFake


def test_plain_http_is_signed_with_oauth_and_https_uses_basic(woo_fake, woo_key, woo_https_fake, make_client):
    https_key = woo_https_fake.add_key()
    woo_fake.store.add_product("MUG-1")
    woo_https_fake.store.add_product("MUG-2")

    over_http = list(make_client(woo_fake, woo_key).products())
    over_https = list(make_client(woo_https_fake, https_key).products())

    assert [p["sku"] for p in over_http] == ["MUG-1"]
    assert [p["sku"] for p in over_https] == ["MUG-2"]
    http_call, https_call = woo_fake.calls()[-1], woo_https_fake.calls()[-1]
    assert http_call.auth == "oauth"
    assert http_call.headers["Authorization"].startswith("OAuth ")
    assert 'oauth_signature_method="HMAC-SHA256"' in http_call.headers["Authorization"]
    assert https_call.auth == "basic"
    assert https_call.headers["Authorization"].startswith("Basic ")
    for call in (*woo_fake.calls(), *woo_https_fake.calls()):
        assert not {"consumer_key", "consumer_secret", "oauth_signature"} & set(call.query)


def test_every_attempt_is_signed_anew_so_a_retry_is_no_replay(woo_fake, woo_key, make_client):
    woo_fake.fail_next(2, status=500)
    slept = []

    products = list(make_client(woo_fake, woo_key, sleep=slept.append).products())

    assert products == []
    calls = woo_fake.calls()
    assert [c.status for c in calls] == [500, 500, 200]
    nonces = {c.headers["Authorization"].split('oauth_nonce="')[1].split('"')[0] for c in calls}
    assert len(nonces) == 3
    assert len(slept) == 2


def test_pages_are_read_until_x_wp_totalpages(woo_fake, woo_key, make_client):
    for i in range(250):
        woo_fake.store.add_product(f"SKU-{i:03}")

    products = list(make_client(woo_fake, woo_key).products())

    assert len(products) == 250
    assert len({p["id"] for p in products}) == 250
    assert [(c.query["page"], c.query["per_page"]) for c in woo_fake.calls(path="/products")] == [
        (["1"], ["100"]), (["2"], ["100"]), (["3"], ["100"])]


def test_orders_are_asked_for_in_gmt_oldest_change_first(woo_fake, woo_key, make_client):
    # The fake store is in New York: without dates_are_gmt the window would be five hours off.
    old = woo_fake.store.add_order(modified_gmt=datetime(2026, 1, 10, 9, 0))
    newer = woo_fake.store.add_order(modified_gmt=datetime(2026, 1, 10, 14, 0))
    newest = woo_fake.store.add_order(modified_gmt=datetime(2026, 1, 10, 12, 0))

    orders = list(make_client(woo_fake, woo_key).orders_modified_after(datetime(2026, 1, 10, 10, 0, tzinfo=UTC)))

    assert [o["id"] for o in orders] == [newest["id"], newer["id"]]
    assert old["id"] not in {o["id"] for o in orders}
    query = woo_fake.calls(path="/orders")[0].query
    assert {k: v[0] for k, v in query.items()} == {
        "modified_after": "2026-01-10T10:00:00", "dates_are_gmt": "true", "orderby": "modified", "order": "asc",
        "per_page": "100", "page": "1"}


def test_a_batch_of_250_goes_in_calls_of_100_and_one_failure_stays_alone(woo_fake, woo_key, make_client):
    products = [woo_fake.store.add_product(f"SKU-{i:03}", stock_quantity=1) for i in range(250)]
    woo_fake.reject_item(products[7]["id"], "product_invalid_sku", "Invalid or duplicated SKU.")

    results = make_client(woo_fake, woo_key).batch_update([{"id": p["id"], "stock_quantity": 4} for p in products])

    assert [len(c.body["update"]) for c in woo_fake.calls(path="/products/batch")] == [100, 100, 50]
    assert [r.id for r in results] == [p["id"] for p in products]
    failed = [r for r in results if not r.ok]
    assert [(r.id, r.error_code, r.error_message) for r in failed] == [
        (products[7]["id"], "product_invalid_sku", "Invalid or duplicated SKU.")]
    assert sum(1 for p in products if woo_fake.store.products[p["id"]]["stock_quantity"] == 4) == 249


def test_variations_are_batched_per_parent(woo_fake, woo_key, make_client):
    tee = woo_fake.store.add_variable_product("TEE", [{"sku": "TEE-S"}, {"sku": "TEE-M", "manage_stock": False}])
    client = make_client(woo_fake, woo_key)

    results = client.batch_update([{"id": tee["variations"][0], "stock_quantity": 2},
                                   {"id": tee["variations"][1], "manage_stock": True, "stock_quantity": 3}],
                                  parent_id=tee["id"])
    listed = list(client.variations(tee["id"]))

    assert [r.resource["stock_quantity"] for r in results] == [2, 3]
    assert sorted((v["sku"], v["stock_quantity"]) for v in listed) == [("TEE-M", 3), ("TEE-S", 2)]


def test_a_note_a_status_and_a_tracking_entry(woo_fake, woo_key, make_client):
    order = woo_fake.place_order()
    client = make_client(woo_fake, woo_key)

    note = client.add_order_note(order["id"], "Shipped with UPS Ground, tracking 1Z9")
    completed = client.set_order_status(order["id"], "completed")

    assert note["customer_note"] is True
    assert woo_fake.store.notes[order["id"]][0]["note"] == "Shipped with UPS Ground, tracking 1Z9"
    assert completed["status"] == "completed"
    assert client.has_shipment_tracking() is False


def test_the_shipment_tracking_extension_is_detected_and_used(make_client):
    with WooCommerceFake(shipment_tracking=True) as fake:
        key = fake.add_key()
        order = fake.place_order()
        client = make_client(fake, key)

        present = client.has_shipment_tracking()
        tracking = client.add_shipment_tracking(order["id"], provider="UPS", tracking_number="1Z9",
                                                tracking_link="https://ups.example/1Z9")

    assert present is True
    assert (tracking["tracking_provider"], tracking["tracking_number"], tracking["tracking_link"]) == (
        "UPS", "1Z9", "https://ups.example/1Z9")


def test_webhooks_are_created_after_their_ping_listed_reactivated_and_deleted(woo_fake, woo_key, woo_receiver,
                                                                              make_client):
    client = make_client(woo_fake, woo_key)

    created = client.create_webhook(topic="order.updated", delivery_url=woo_receiver.url, secret="s3cr3t")
    pinged = [r.body for r in woo_receiver.received]
    woo_fake.store.webhooks[created["id"]].status = "disabled"
    listed = client.webhooks()
    reactivated = client.set_webhook_status(created["id"], "active")
    client.delete_webhook(created["id"])

    assert pinged == [f"webhook_id={created['id']}".encode()]
    assert woo_fake.store.webhooks == {}
    assert [(h["id"], h["status"]) for h in listed] == [(created["id"], "disabled")]
    assert reactivated["status"] == "active"


def test_a_revoked_key_is_auth_failed_in_woocommerces_words(woo_fake, woo_key, make_client):
    client = make_client(woo_fake, woo_key)
    woo_fake.revoke_key(woo_key.consumer_key)

    with pytest.raises(AuthFailed) as raised:
        list(client.products())

    assert isinstance(raised.value, WooAuthFailed)
    assert (raised.value.status, raised.value.code, raised.value.wc_message) == (
        401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
    assert "Consumer key is invalid." in str(raised.value)
    assert woo_key.consumer_secret not in str(raised.value)
    assert len(woo_fake.calls()) == 1  # never retried


def test_a_read_only_key_is_auth_failed_on_a_write(woo_fake, make_client):
    key = woo_fake.add_key(permissions="read")
    product = woo_fake.store.add_product("MUG-1")

    with pytest.raises(AuthFailed) as raised:
        make_client(woo_fake, key).batch_update([{"id": product["id"], "stock_quantity": 1}])

    assert raised.value.code == "woocommerce_rest_authentication_error"
    assert raised.value.wc_message == "The API key provided does not have write permissions."


def test_a_user_who_may_not_edit_is_auth_failed_with_cannot_edit(woo_fake, make_client):
    key = woo_fake.add_key(user_can_edit=False)
    order = woo_fake.place_order()

    with pytest.raises(WooAuthFailed) as raised:
        make_client(woo_fake, key).set_order_status(order["id"], "completed")

    assert (raised.value.status, raised.value.code) == (403, "woocommerce_rest_cannot_edit")


def test_a_store_answering_nothing_but_a_404_page_means_no_rest_api(make_client):
    with WooCommerceFake(pretty_permalinks=False) as fake:
        key = fake.add_key()
        with pytest.raises(Rejected) as raised:
            list(make_client(fake, key).products())

    assert isinstance(raised.value, WooRejected)
    assert raised.value.code == "wp_json_missing"
    assert "pretty permalinks" in str(raised.value)


def test_an_unknown_order_is_rejected_with_its_code(woo_fake, woo_key, make_client):
    with pytest.raises(Rejected) as raised:
        make_client(woo_fake, woo_key).order(999999)

    assert (raised.value.status, raised.value.code, raised.value.wc_message) == (
        404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")


def test_a_503_with_retry_after_is_throttled_and_waited_out(woo_fake, woo_key, make_client):
    woo_fake.fail_next(1, status=503, retry_after=7)
    slept = []

    products = list(make_client(woo_fake, woo_key, sleep=slept.append).products())

    assert products == []
    assert slept == [7.0]


def test_persistent_failures_end_in_their_class(woo_fake, woo_key, make_client):
    woo_fake.fail_next(3, status=503, retry_after=1)
    woo_fake.fail_next(3, status=500)
    slept = []
    client = make_client(woo_fake, woo_key, sleep=slept.append, max_attempts=3)

    with pytest.raises(Throttled) as throttled:
        list(client.products())
    with pytest.raises(Transient) as transient:
        client.order(1)

    assert isinstance(throttled.value, WooThrottled)
    assert throttled.value.retry_after == 1.0
    assert isinstance(transient.value, WooTransient)
    assert transient.value.code == "internal_server_error"


def test_credentials_are_required():
    with pytest.raises(Rejected):
        WooCommerceClient({"store_url": "shop.example", "consumer_key": "ck", "consumer_secret": "cs"},
                          budget_key="test")
    with pytest.raises(AuthFailed):
        WooCommerceClient({"store_url": "https://shop.example", "consumer_key": "", "consumer_secret": "cs"},
                          budget_key="test")


def test_stock_goes_in_the_fewest_calls_the_grouping_allows_and_turns_stock_management_on(woo_fake, woo_key,
                                                                                          make_client):
    simple = [woo_fake.store.add_product(f"S-{i:03}", stock_quantity=1, manage_stock=i != 0) for i in range(150)]
    big = woo_fake.store.add_variable_product("BIG", [{"sku": f"B-{i:03}"} for i in range(120)])
    small = woo_fake.store.add_variable_product("SMALL", [{"sku": "T-1"}, {"sku": "T-2", "manage_stock": False}])
    pushes = ([StockPush(p["id"], 7) for p in simple] + [StockPush(v, 8, big["id"]) for v in big["variations"]]
              + [StockPush(v, 9, small["id"]) for v in small["variations"]])

    results = make_client(woo_fake, woo_key).push_stock(pushes)

    calls = woo_fake.calls(method="POST", path=r"/products/(batch|\d+/variations/batch)")
    assert sorted((c.path.rsplit("/wc/v3", 1)[1], len(c.body["update"])) for c in calls) == sorted([
        ("/products/batch", 100), ("/products/batch", 50), (f"/products/{big['id']}/variations/batch", 100),
        (f"/products/{big['id']}/variations/batch", 20), (f"/products/{small['id']}/variations/batch", 2)])
    assert [r.id for r in results] == [p.listing_id for p in pushes]
    assert all(r.ok for r in results)
    store = woo_fake.store.products
    assert (store[simple[0]["id"]]["manage_stock"], store[simple[0]["id"]]["stock_quantity"]) == (True, 7)
    assert [store[v]["stock_quantity"] for v in small["variations"]] == [9, 9]
    assert all(u["manage_stock"] is True for c in calls for u in c.body["update"])
