"""WooCommerce deliveries as the fake store really sends them: the signature checked over the raw bytes, the
unsigned creation ping told apart, and an identity under which the same delivery twice is one delivery while
a later change of the same order is another (WooCommerce's Delivery-ID cannot tell them apart)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from integrations.channels.woocommerce.webhooks import identify, is_ping, new_webhook_secret, verify
from tests.fakes.woocommerce import webhook_request

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def _store(secret):
    return SimpleNamespace(credentials={"webhook_secret": secret})


def _subscribe(woo_fake, woo_key, woo_receiver, make_client, topic, secret):
    make_client(woo_fake, woo_key).create_webhook(topic=topic, delivery_url=woo_receiver.url, secret=secret)


def test_a_real_delivery_verifies_only_with_its_secret(woo_fake, woo_key, woo_receiver, make_client):
    secret = new_webhook_secret()
    _subscribe(woo_fake, woo_key, woo_receiver, make_client, "order.created", secret)
    woo_fake.place_order()
    woo_fake.wait_for_deliveries()
    [delivery] = woo_receiver.deliveries()
    lower_cased = {k.lower(): v for k, v in delivery.headers.items()}
    unsigned = {k: v for k, v in delivery.headers.items() if k != "X-WC-Webhook-Signature"}

    assert verify(_store(secret), delivery.headers, delivery.body, NOW) is True
    assert verify(_store(secret), lower_cased, delivery.body, NOW) is True
    assert verify(_store("another-secret"), delivery.headers, delivery.body, NOW) is False
    assert verify(_store(secret), delivery.headers, delivery.body + b" ", NOW) is False
    assert verify(_store(secret), unsigned, delivery.body, NOW) is False
    assert verify(_store(""), delivery.headers, delivery.body, NOW) is False
    assert len(secret) >= 40 and new_webhook_secret() != secret


def test_the_creation_ping_is_a_handshake_and_a_delivery_is_not(woo_fake, woo_key, woo_receiver, make_client):
    _subscribe(woo_fake, woo_key, woo_receiver, make_client, "order.updated", "s3cr3t")
    order = woo_fake.place_order()
    woo_fake.change_order(order["id"], status="completed")
    woo_fake.wait_for_deliveries()
    ping, delivery = woo_receiver.received

    assert is_ping(ping.headers, ping.body) is True
    assert is_ping(delivery.headers, delivery.body) is False
    assert is_ping({}, b"webhook_id=12&extra=1") is False
    assert is_ping({"X-WC-Webhook-Signature": "x"}, b"webhook_id=12") is False


def test_the_same_delivery_twice_is_one_and_a_later_change_is_another(woo_fake, woo_key, woo_receiver, make_client):
    _subscribe(woo_fake, woo_key, woo_receiver, make_client, "order.updated", "s3cr3t")
    order = woo_fake.place_order()
    woo_fake.change_order(order["id"], status="on-hold")
    woo_fake.wait_for_deliveries()
    woo_fake.change_order(order["id"], status="processing")
    woo_fake.wait_for_deliveries()
    first, second = woo_receiver.deliveries()

    one, again, later = identify(first.headers, first.body), identify(first.headers, first.body), identify(
        second.headers, second.body)

    assert one == again
    assert one.delivery_id != later.delivery_id
    assert one.topic == "order.updated"
    assert one.delivery_id.startswith(f"order.updated:{order['id']}:{json.loads(first.body)['date_modified_gmt']}:")
    assert "X-WC-Webhook-Signature" not in one.headers
    assert one.headers["X-WC-Webhook-ID"] == first.headers["X-WC-Webhook-ID"]


def test_two_states_in_one_second_share_woocommerces_delivery_id_but_not_ours():
    body = {"id": 727, "status": "processing", "date_modified_gmt": "2026-12-07T10:00:00"}
    raw_a, headers_a = webhook_request(topic="order.updated", body=body, secret="s", webhook_id=3, at=1_000.2)
    raw_b, headers_b = webhook_request(topic="order.updated", body={**body, "status": "completed"}, secret="s",
                                       webhook_id=3, at=1_000.7)

    assert headers_a["X-WC-Webhook-Delivery-ID"] == headers_b["X-WC-Webhook-Delivery-ID"]
    assert identify(headers_a, raw_a).delivery_id != identify(headers_b, raw_b).delivery_id


def test_a_deleted_resource_and_a_body_that_is_no_json():
    raw, headers = webhook_request(topic="order.deleted", body={"id": 730}, secret="s")

    deleted = identify(headers, raw)
    garbage = identify(headers, b"not json")

    assert deleted.delivery_id.startswith("order.deleted:730:-:")
    assert garbage.delivery_id.startswith("order.deleted:sha256:")
