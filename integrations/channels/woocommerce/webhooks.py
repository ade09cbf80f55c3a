"""WooCommerce's webhook deliveries (reference §2.8, class-wc-webhook.php): how one is verified, what identifies
it, the creation ping, and which domain service each topic goes to (`RECEIVER`, registered by the package).
The inbox (webhooks app) stores and retries; this only knows WooCommerce.

- Verification: `X-WC-Webhook-Signature` is base64 of the binary HMAC-SHA256 of the raw body with the secret
  we gave the webhook when we created it (our own random secret per integration, stored as the credentials'
  `webhook_secret`); compared in constant time, before anything parses the body.
- The ping: when a webhook is created WooCommerce POSTs `webhook_id=<id>` form-encoded, unsigned and without
  any X-WC-Webhook-* header, and takes only an exact 200 as success: a handshake, answered 200, nothing stored.
- Identity: WooCommerce sends no event id, and `X-WC-Webhook-Delivery-ID` is a hash of the webhook id and the
  second, shared by every delivery of that webhook within one second. A delivery is the topic, the resource's
  id and its `date_modified_gmt` (the state it describes), with a hash of the body as the tiebreak, so the same
  delivery again is refused and a later change is not. A `*.deleted` body is `{"id": N}` only.
- Topics: order.created/updated → order_ingest (an update for an order never seen creates it); order.deleted
  → the stored order ingested again as trashed, which cancels it (the services Shopify's handlers use);
  product.updated → listings_upsert and the quantity seen, so our own echo (the quantity we pushed) is
  recognised and changes nothing.
- The topic header is not signed: each handler first checks that the body is its topic's payload.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from accounts.models import Merchant
from core.receivers import Delivery, PermanentFailure, WebhookReceiver, hmac_base64_matches
from integrations.channels.woocommerce.mapping import (
    CHANNEL,
    MappingError,
    channel_listing,
    listings_from_product,
    order_from_wc,
)
from integrations.models import Integration
from integrations.sync import listings_upsert
from integrations.sync.stock import quantities_seen
from orders.models import Order
from orders.services import order_ingest

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


# ---------------------------------------------------------------- handlers


def _object(payload: Any, topic: str, *, must: tuple[str, ...], foreign: tuple[str, ...]) -> Mapping[str, Any]:
    """`payload` as `topic`'s JSON object: an id, each of `must`, none of `foreign` (another topic's mark)."""
    if not isinstance(payload, Mapping) or payload.get("id") in (None, "", 0) or isinstance(payload.get("id"), bool):
        raise PermanentFailure(f"not a {topic} payload: no resource id")
    missing = [key for key in must if key not in payload]
    stray = [key for key in foreign if key in payload]
    if missing or stray:
        raise PermanentFailure(f"not a {topic} payload: " + ", ".join(
            [*(f"{k!r} is missing" for k in missing), *(f"it carries {k!r}" for k in stray)]))
    return payload


def _order(*, merchant: Merchant, owner: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    topic = _header(headers, TOPIC_HEADER) or "order.*"
    body = _object(payload, topic, must=("line_items", "status"), foreign=("stock_quantity", "manage_stock"))
    try:
        normalized = order_from_wc(body)
    except (MappingError, ValueError, TypeError, ArithmeticError) as exc:
        raise PermanentFailure(f"not a WooCommerce order: {exc}") from exc
    if normalized is None:
        return {"action": "ignored", "status": str(body.get("status"))}
    result = order_ingest(merchant=merchant, integration_id=owner.pk, normalized=normalized)
    return {"order_id": result.order.pk, "action": result.outcome}


def _order_deleted(*, merchant: Merchant, owner: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    """Trashed or deleted on the store: our order (if we have it) is ingested again as trashed, so the one
    ingest rule cancels it (or records why it cannot: it shipped already)."""
    body = _object(payload, "order.deleted", must=(), foreign=("stock_quantity",))
    external_id = str(body["id"])
    stored = (Order.objects.filter(merchant=merchant, integration_id=owner.pk, channel=CHANNEL,
                                   external_id=external_id).values_list("raw_payload", flat=True).first())
    if not stored:
        return {"action": "unknown-order", "external_id": external_id}
    try:
        normalized = order_from_wc({**stored, "status": "trash"})
    except MappingError as exc:
        raise PermanentFailure(f"the stored order cannot be read again: {exc}") from exc
    result = order_ingest(merchant=merchant, integration_id=owner.pk, normalized=normalized)
    return {"order_id": result.order.pk, "action": result.outcome}


def _product(*, merchant: Merchant, owner: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    """A product or a variation changed (our own push included): its listing upserted, its quantity seen (the
    quantity we pushed is an echo and changes nothing). A variable parent names no stock: nothing to do."""
    body = _object(payload, "product.updated", must=("type",), foreign=("line_items", "billing"))
    try:
        items = listings_from_product(body)
    except MappingError as exc:
        raise PermanentFailure(str(exc)) from exc
    listings = [channel_listing(i) for i in items]
    counts = listings_upsert(merchant=merchant, integration=owner, items=listings) if listings else {}
    seen = quantities_seen(merchant=merchant, integration=owner,
                           quantities={i.external_id: i.quantity for i in items if i.quantity is not None})
    return {"action": "listings", "product_id": str(body["id"]), **counts, "quantities": seen}


RECEIVER = WebhookReceiver(
    kind="channel", slug=CHANNEL, verify=verify, identify=identify, signature_header=SIGNATURE_HEADER,
    is_handshake=is_ping,
    handlers={"order.created": _order, "order.updated": _order, "order.deleted": _order_deleted,
              "order.restored": _order, "product.updated": _product, "product.created": _product},
)
