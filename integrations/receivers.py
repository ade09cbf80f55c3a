"""Webhook receivers: what the inbox (the webhooks app) needs to know about one channel's deliveries.

The inbox is generic and sits above integrations, so it cannot name a channel; each channel package
describes its deliveries in a `WebhookReceiver` (how to verify one, what identifies it, which topic
goes to which domain service) and IntegrationsConfig.ready() registers it here, one line per channel.
A new channel (WooCommerce, a carrier) is its own `webhooks.py` plus that line; the inbox is untouched.

Handlers run inside the merchant's scope, receive the parsed body and the kept headers, must be
idempotent (a delivery is processed at least once) and return a small JSON-able dict saying what they
did (stored on the event as its `result`). A handler raises `PermanentFailure` for a payload no retry
can fix; any other exception is retried with the shared backoff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.registry import Registry

Handler = Callable[..., dict[str, Any]]  # handler(*, merchant, integration, payload, headers) -> result


class PermanentFailure(Exception):
    """The delivery can never be processed as sent (unparseable, missing required fields): no retry."""


@dataclass(frozen=True)
class Delivery:
    """What identifies one delivery, read from its headers (and body, for channels that need it)."""

    topic: str
    delivery_id: str
    headers: dict[str, str]  # the headers worth keeping on the event (never a signature or a secret)


@dataclass(frozen=True)
class WebhookReceiver:
    channel: str
    # (integration, request headers, raw body, now) -> the signature is valid. Constant time; before parsing.
    verify: Callable[[Any, Mapping[str, str], bytes, datetime], bool]
    # (request headers, raw body) -> the delivery's topic, identity and kept headers.
    identify: Callable[[Mapping[str, str], bytes], Delivery]
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    # The header carrying the signature: its absence is logged and counted apart from a wrong one.
    signature_header: str = ""
    # An unsigned handshake the channel sends when a subscription is made (WooCommerce's ping):
    # (headers, raw body) -> answer 200 and store nothing. None: every request must be signed.
    is_handshake: Callable[[Mapping[str, str], bytes], bool] | None = None

    def __hash__(self) -> int:
        return hash(self.channel)


webhook_receivers: Registry[WebhookReceiver] = Registry("integrations.webhook_receivers")


def webhook_receiver_register(receiver: WebhookReceiver) -> WebhookReceiver:
    return webhook_receivers.register(receiver.channel, receiver)


def hmac_base64_matches(body: bytes, signature: str | None, secrets: Iterable[str]) -> bool:
    """base64(HMAC-SHA256(secret, body)) equals `signature` for one of `secrets`, compared in constant
    time (Shopify's and WooCommerce's scheme). Every secret is tried, so the time says nothing about which."""
    if not signature:
        return False
    given = signature.strip().encode()
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
        matched |= hmac.compare_digest(expected, given)
    return matched
