"""Webhook receivers: what the inbox (the webhooks app) needs to know about one source's deliveries.

The inbox sits above both integrations and labels, so it names neither a channel nor a carrier; each
source package describes its deliveries in a `WebhookReceiver` (how to verify one, what identifies it,
which topic goes to which domain service) and its app's ready() registers it here under its kind
("channel" or "carrier") and slug. A new channel or carrier is its own `webhooks.py` plus that line; the
inbox is untouched. It lives in core so that labels' carriers can register too (DESIGN: both use core's
receiver registry).

Handlers run inside the merchant's scope, receive the endpoint's owner (the Integration of a channel,
next the carrier account of a carrier), the parsed body and the kept headers, must be idempotent (a
delivery is processed at least once) and return a small JSON-able dict saying what they did (stored on
the event as its `result`). A handler raises `PermanentFailure` for a payload no retry can fix (not
this topic's shape, another shop's id); any other exception is retried with the shared backoff.

The inbox's URLs are built by the webhooks app, which registers its path builder in `webhook_paths`, so
a lower app (integrations subscribing a channel to its address) can ask for its URL without importing it.
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

Handler = Callable[..., dict[str, Any]]  # handler(*, merchant, owner, payload, headers) -> result

KINDS = ("channel", "carrier")


class PermanentFailure(Exception):
    """The delivery can never be processed as sent (unparseable, missing required fields, a body that is
    not its topic's payload): stored `failed` with this reason, no retry."""


@dataclass(frozen=True)
class Delivery:
    """What identifies one delivery, read from its headers (and body, for channels that need it)."""

    topic: str
    delivery_id: str
    headers: dict[str, str]  # the headers worth keeping on the event (never a signature or a secret)


@dataclass(frozen=True)
class WebhookReceiver:
    kind: str  # one of KINDS
    slug: str  # the channel's or carrier's slug ("shopify"); also the legacy first segment of its URLs
    # (owner, request headers, raw body, now) -> the signature is valid. Constant time; before parsing.
    verify: Callable[[Any, Mapping[str, str], bytes, datetime], bool]
    # (request headers, raw body) -> the delivery's topic, identity and kept headers.
    identify: Callable[[Mapping[str, str], bytes], Delivery]
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    # The header carrying the signature: its absence is logged and counted apart from a wrong one.
    signature_header: str = ""
    # An unsigned handshake the channel sends when a subscription is made (WooCommerce's ping):
    # (headers, raw body) -> answer 200 and store nothing. None: every request must be signed.
    is_handshake: Callable[[Mapping[str, str], bytes], bool] | None = None
    # Topics still accepted (verified, stored, processed) while the owner is disconnected: the privacy
    # topics a marketplace sends after an uninstall (Shopify's shop/redact comes 48 hours later).
    topics_after_disconnect: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a webhook receiver's kind is one of {KINDS}, not {self.kind!r}")

    @property
    def key(self) -> str:
        return receiver_key(self.kind, self.slug)

    def __hash__(self) -> int:
        return hash(self.key)


def receiver_key(kind: str, slug: str) -> str:
    """The registry key of a receiver: `channel:shopify`, `carrier:easypost`."""
    return f"{kind}:{slug}"


webhook_receivers: Registry[WebhookReceiver] = Registry("core.webhook_receivers")


def webhook_receiver_register(receiver: WebhookReceiver) -> WebhookReceiver:
    return webhook_receivers.register(receiver.key, receiver)


def webhook_receiver_get(kind: str, slug: str) -> WebhookReceiver | None:
    return webhook_receivers.get(receiver_key(kind, slug))


# (kind, owner) -> the inbox's path for that owner ("/webhooks/shopify/<token>/"), its endpoint made if need be.
PathBuilder = Callable[..., str]
webhook_paths: Registry[PathBuilder] = Registry("core.webhook_paths")


def webhook_path(*, kind: str, owner: Any) -> str:
    """The inbox's path (no host) at which `owner` (an integration, a carrier account) receives its
    deliveries. The webhooks app fills this in from its ready(); without it there is no inbox."""
    return webhook_paths["inbox"](kind=kind, owner=owner)


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
