"""core.receivers: webhook receivers by kind and slug, so a carrier and a channel may share a slug and the
inbox finds each; the Shopify receiver is registered as a channel's."""

from __future__ import annotations

import pytest

from core.receivers import (
    Delivery,
    WebhookReceiver,
    webhook_receiver_get,
    webhook_receiver_register,
    webhook_receivers,
)


def receiver(kind: str, slug: str) -> WebhookReceiver:
    return WebhookReceiver(kind=kind, slug=slug, verify=lambda owner, headers, body, now: True,
                           identify=lambda headers, body: Delivery(topic="t", delivery_id="d", headers={}))


def test_a_channel_and_a_carrier_of_one_slug_are_two_receivers():
    channel, carrier = receiver("channel", "acme"), receiver("carrier", "acme")
    try:
        webhook_receiver_register(channel)
        webhook_receiver_register(carrier)

        assert webhook_receiver_get("channel", "acme") is channel
        assert webhook_receiver_get("carrier", "acme") is carrier
        assert webhook_receiver_get("carrier", "shopify") is None
    finally:
        webhook_receivers.unregister("channel:acme")
        webhook_receivers.unregister("carrier:acme")


def test_a_receiver_of_no_known_kind_is_refused_at_start_up():
    with pytest.raises(ValueError, match="a webhook receiver's kind is one of"):
        receiver("marketplace", "acme")


def test_shopify_registers_as_a_channel_taking_the_compliance_topics_after_a_disconnect():
    shopify = webhook_receiver_get("channel", "shopify")

    assert (shopify.kind, shopify.slug) == ("channel", "shopify")
    assert shopify.topics_after_disconnect == {"customers/data_request", "customers/redact", "shop/redact"}
