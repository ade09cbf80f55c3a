"""Webhooks: the synchronous unsigned creation ping, signed deliveries for every change (one per product
and variation a push touched), deletion payloads, and disabling after the 7th consecutive failure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from .client_for_tests import oauth_call


def _create(fake, key, receiver, topic="order.created", secret="s3cr3t"):
    return oauth_call(fake, key, "POST", "/webhooks", json={"name": topic, "topic": topic,
                                                             "delivery_url": receiver.url, "secret": secret})


def test_creation_pings_before_the_201_form_encoded_and_unsigned(woo_fake, woo_key, woo_receiver):
    response = _create(woo_fake, woo_key, woo_receiver)
    seen_when_created = list(woo_receiver.received)  # the 201 is back: the ping had to arrive already

    assert response.status_code == 201
    hook = response.json()
    assert response.headers["Location"] == f"/wp-json/wc/v3/webhooks/{hook['id']}"
    assert (hook["topic"], hook["resource"], hook["event"], hook["status"]) == ("order.created", "order", "created",
                                                                                 "active")
    assert len(seen_when_created) == 1
    ping = seen_when_created[0]
    assert ping.body == f"webhook_id={hook['id']}".encode()
    assert ping.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert ping.headers["User-Agent"].startswith("WooCommerce/")
    assert not [name for name in ping.headers if name.lower().startswith("x-wc-webhook")]


def test_a_ping_answered_other_than_200_still_creates_the_webhook(woo_fake, woo_key, woo_receiver):
    woo_receiver.status = 204

    response = _create(woo_fake, woo_key, woo_receiver)

    hook = woo_fake.store.webhooks[response.json()["id"]]
    assert response.status_code == 201
    assert (hook.status, hook.pending_delivery) == ("active", True)
    assert woo_fake.deliveries[-1].status == 204


def test_a_delivery_is_signed_over_its_raw_body(woo_fake, woo_key, woo_receiver):
    hook = _create(woo_fake, woo_key, woo_receiver, secret="top-secret").json()
    mug = woo_fake.store.add_product("MUG-1")

    order = woo_fake.place_order([(mug, 2)])
    woo_fake.wait_for_deliveries()

    [delivery] = woo_receiver.deliveries()
    expected = base64.b64encode(hmac.new(b"top-secret", delivery.body, hashlib.sha256).digest()).decode()
    assert delivery.headers["X-WC-Webhook-Signature"] == expected
    assert {k: delivery.headers[k] for k in ("X-WC-Webhook-Topic", "X-WC-Webhook-Resource", "X-WC-Webhook-Event",
                                             "X-WC-Webhook-ID", "X-WC-Webhook-Source")} == {
        "X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "created",
        "X-WC-Webhook-ID": str(hook["id"]), "X-WC-Webhook-Source": woo_fake.base_url + "/"}
    assert len(delivery.headers["X-WC-Webhook-Delivery-ID"]) == 32
    assert delivery.headers["Content-Type"] == "application/json"
    assert json.loads(delivery.body) == order


def test_a_stock_push_sends_product_updated_for_every_product_and_variation(woo_fake, woo_key, woo_receiver):
    _create(woo_fake, woo_key, woo_receiver, topic="product.updated")
    simple = woo_fake.store.add_product("MUG-1")
    tee = woo_fake.store.add_variable_product("TEE", [{"sku": "TEE-S"}, {"sku": "TEE-M"}])

    oauth_call(woo_fake, woo_key, "POST", "/products/batch", json={"update": [{"id": simple["id"], "stock_quantity": 3}]})
    oauth_call(woo_fake, woo_key, "POST", f"/products/{tee['id']}/variations/batch",
               json={"update": [{"id": vid, "stock_quantity": 3} for vid in tee["variations"]]})
    woo_fake.wait_for_deliveries()

    bodies = [json.loads(d.body) for d in woo_receiver.deliveries()]
    assert sorted(b["id"] for b in bodies) == sorted([simple["id"], *tee["variations"]])
    assert {b["stock_quantity"] for b in bodies} == {3}
    assert {d.headers["X-WC-Webhook-Topic"] for d in woo_receiver.deliveries()} == {"product.updated"}


def test_our_own_status_change_comes_back_as_order_updated(woo_fake, woo_key, woo_receiver):
    _create(woo_fake, woo_key, woo_receiver, topic="order.updated")
    order = woo_fake.place_order()

    oauth_call(woo_fake, woo_key, "PUT", f"/orders/{order['id']}", json={"status": "completed"})
    woo_fake.wait_for_deliveries()

    [delivery] = woo_receiver.deliveries()
    assert json.loads(delivery.body)["status"] == "completed"


def test_a_trashed_order_is_announced_with_its_id_only(woo_fake, woo_key, woo_receiver):
    _create(woo_fake, woo_key, woo_receiver, topic="order.deleted")
    order = woo_fake.place_order()

    woo_fake.trash_order(order["id"])
    woo_fake.wait_for_deliveries()

    assert [json.loads(d.body) for d in woo_receiver.deliveries()] == [{"id": order["id"]}]


def test_the_seventh_failure_in_a_row_disables_the_webhook(woo_fake, woo_key, woo_receiver):
    hook_id = _create(woo_fake, woo_key, woo_receiver, topic="order.updated").json()["id"]
    order = woo_fake.place_order()
    woo_receiver.status = 500

    counts = []
    for _ in range(7):
        woo_fake.change_order(order["id"], customer_note="again")
        woo_fake.wait_for_deliveries()
        hook = woo_fake.store.webhooks[hook_id]
        counts.append((hook.failure_count, hook.status))
    woo_fake.change_order(order["id"], customer_note="not delivered")
    woo_fake.wait_for_deliveries()
    listed = oauth_call(woo_fake, woo_key, "GET", f"/webhooks/{hook_id}")

    assert counts == [(1, "active"), (2, "active"), (3, "active"), (4, "active"), (5, "active"), (6, "active"),
                      (6, "disabled")]
    assert len(woo_receiver.deliveries()) == 7
    assert listed.json()["status"] == "disabled"


def test_a_success_resets_the_failure_count_and_reactivation_delivers_again(woo_fake, woo_key, woo_receiver):
    hook_id = _create(woo_fake, woo_key, woo_receiver, topic="order.updated").json()["id"]
    order = woo_fake.place_order()
    woo_receiver.status = 503
    woo_fake.change_order(order["id"], customer_note="1")
    woo_fake.wait_for_deliveries()
    failed_once = woo_fake.store.webhooks[hook_id].failure_count
    woo_receiver.status = 200

    woo_fake.change_order(order["id"], customer_note="2")
    woo_fake.wait_for_deliveries()
    reset = woo_fake.store.webhooks[hook_id].failure_count
    oauth_call(woo_fake, woo_key, "PUT", f"/webhooks/{hook_id}", json={"status": "disabled"})
    woo_fake.change_order(order["id"], customer_note="3")
    woo_fake.wait_for_deliveries()
    while_disabled = len(woo_receiver.deliveries())
    reactivated = oauth_call(woo_fake, woo_key, "PUT", f"/webhooks/{hook_id}", json={"status": "active"})
    woo_fake.change_order(order["id"], customer_note="4")
    woo_fake.wait_for_deliveries()

    assert (failed_once, reset) == (1, 0)
    assert while_disabled == 2
    assert reactivated.json()["status"] == "active"
    assert len(woo_receiver.deliveries()) == 3


def test_webhooks_are_listed_and_deleted_only_with_force(woo_fake, woo_key, woo_receiver):
    hook_id = _create(woo_fake, woo_key, woo_receiver).json()["id"]

    listed = oauth_call(woo_fake, woo_key, "GET", "/webhooks")
    trashed = oauth_call(woo_fake, woo_key, "DELETE", f"/webhooks/{hook_id}")
    deleted = oauth_call(woo_fake, woo_key, "DELETE", f"/webhooks/{hook_id}", {"force": "true"})
    gone = oauth_call(woo_fake, woo_key, "GET", f"/webhooks/{hook_id}")

    assert [h["id"] for h in listed.json()] == [hook_id]
    assert trashed.status_code == 501
    assert deleted.status_code == 200
    assert gone.status_code == 404


def test_an_invalid_topic_is_refused(woo_fake, woo_key, woo_receiver):
    response = _create(woo_fake, woo_key, woo_receiver, topic="order.shipped")

    assert response.status_code == 400
    assert response.json()["code"] == "woocommerce_rest_webhook_invalid_topic"
    assert woo_receiver.received == []
