"""WooCommerce's webhook deliveries (reference §2.8, class-wc-webhook.php): how one is verified, what identifies
it, and the creation ping. Pure functions over headers and bytes, in the shapes core.receivers'
WebhookReceiver takes; registering the receiver and its topic handlers waits for the seam (issue 15 §6).

- Verification: `X-WC-Webhook-Signature` is base64 of the binary HMAC-SHA256 of the raw body with the secret
  we gave the webhook when we created it (our own random secret per integration, stored as the credentials'
  `webhook_secret`); compared in constant time, before anything parses the body.
- The ping: when a webhook is created WooCommerce POSTs `webhook_id=<id>` form-encoded, unsigned and without
  any X-WC-Webhook-* header, and takes only an exact 200 as success: a handshake, answered 200, nothing stored.
- Identity: WooCommerce sends no event id, and `X-WC-Webhook-Delivery-ID` is a hash of the webhook id and the
  second, shared by every delivery of that webhook within one second. A delivery is the topic, the resource's
  id and its `date_modified_gmt` (the state it describes), with a hash of the body as the tiebreak, so the same
  delivery again is refused and a later change is not. A `*.deleted` body is `{"id": N}` only.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.receivers import Delivery, hmac_base64_matches

SIGNATURE_HEADER = "X-WC-Webhook-Signature"
TOPIC_HEADER = "X-WC-Webhook-Topic"
TOPICS = ("order.created", "order.updated", "order.deleted", "product.updated")
KEPT_HEADERS = ("X-WC-Webhook-Source", "X-WC-Webhook-Topic", "X-WC-Webhook-Resource", "X-WC-Webhook-Event",
                "X-WC-Webhook-ID", "X-WC-Webhook-Delivery-ID")
_PING = re.compile(rb"webhook_id=[0-9]{1,20}")


def new_webhook_secret() -> str:
    """The secret we give WooCommerce for one integration's webhooks (never its default, derived from the user)."""
    return secrets.token_urlsafe(32)


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header by name, whatever its case (HTTP/2 and some proxies lower-case them)."""
    if name in headers:
        return headers[name] or ""
    lowered = name.lower()
    return next((value or "" for key, value in headers.items() if key.lower() == lowered), "")


def is_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """The creation ping: exactly `webhook_id=<digits>`, with no signature and no topic."""
    return (not _header(headers, SIGNATURE_HEADER) and not _header(headers, TOPIC_HEADER)
            and bool(_PING.fullmatch(body.strip())))


def signature_matches(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    return hmac_base64_matches(body, _header(headers, SIGNATURE_HEADER) or None, [secret])


def verify(integration: Any, headers: Mapping[str, str], body: bytes, now: datetime) -> bool:
    """WebhookReceiver.verify: the delivery is signed with this integration's webhook secret."""
    secret = str((getattr(integration, "credentials", None) or {}).get("webhook_secret") or "")
    return bool(secret) and signature_matches(secret, headers, body)


def identify(headers: Mapping[str, str], body: bytes) -> Delivery:
    """WebhookReceiver.identify: topic, resource id, the state's `date_modified_gmt`, and a body hash."""
    topic = _header(headers, TOPIC_HEADER).strip().lower()[:128]
    digest = hashlib.sha256(body).hexdigest()
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, Mapping) and payload.get("id") is not None:
        modified = str(payload.get("date_modified_gmt") or "-")
        identity = f"{topic}:{payload['id']}:{modified}:{digest[:16]}"
    else:
        identity = f"{topic}:sha256:{digest}"
    kept = {name: _header(headers, name)[:255] for name in KEPT_HEADERS if _header(headers, name)}
    return Delivery(topic=topic, delivery_id=identity[:255], headers=kept)
