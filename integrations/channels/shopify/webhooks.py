"""Shopify's webhook receiver (reference §1.9): how a delivery is verified, what identifies it, and which
domain service each topic goes to. The inbox (webhooks app) stores and retries; this only knows Shopify.

- Verification: base64 HMAC-SHA256 of the raw body with the app's client secret (a custom app's own
  `client_secret` in the credentials, else our app's SHOPIFY_CLIENT_SECRET); the previous secret is
  accepted for ROTATION_GRACE after a rotation, because Shopify may keep signing with it that long.
- Identity: the topic and X-Shopify-Event-Id (the same across Shopify's retries), else X-Shopify-Webhook-Id.
- Topics: orders/* → order_ingest (an update before its create, or `paid` for an order never seen,
  creates it); products/update → listings; inventory_levels/update → echo or drift; app/uninstalled →
  disconnected and tokens forgotten; the compliance topics → the customer's data found or erased.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_aware, make_aware

from accounts.models import Merchant
from integrations.channels.shopify.mapping import (
    CHANNEL,
    MappingError,
    gid_number,
    listings_from_rest_product,
    order_from_rest,
)
from integrations.models import Integration
from integrations.receivers import Delivery, PermanentFailure, WebhookReceiver, hmac_base64_matches

ROTATION_GRACE = timedelta(hours=1)
KEPT_HEADERS = ("X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-API-Version", "X-Shopify-Webhook-Id",
                "X-Shopify-Event-Id", "X-Shopify-Triggered-At", "X-Shopify-Name", "X-Shopify-Sub-Topic")


def _rotated_at(value: Any) -> datetime | None:
    try:
        moment = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment if moment is None or is_aware(moment) else make_aware(moment, UTC)


def signing_secrets(integration: Integration, now: datetime) -> list[str]:
    """The secrets a delivery for this store may be signed with right now, current first."""
    credentials = integration.credentials or {}
    if credentials.get("client_secret"):
        current = credentials["client_secret"]
        previous, rotated = credentials.get("previous_client_secret"), credentials.get("client_secret_rotated_at")
    else:
        current = getattr(settings, "SHOPIFY_CLIENT_SECRET", "")
        previous = getattr(settings, "SHOPIFY_CLIENT_SECRET_PREVIOUS", "")
        rotated = getattr(settings, "SHOPIFY_CLIENT_SECRET_ROTATED_AT", "")
    secrets = [current] if current else []
    when = _rotated_at(rotated)
    if previous and when is not None and when <= now <= when + ROTATION_GRACE:
        secrets.append(previous)
    return secrets


def verify(integration: Integration, headers: Mapping[str, str], body: bytes, now: datetime) -> bool:
    if not hmac_base64_matches(body, headers.get("X-Shopify-Hmac-Sha256"), signing_secrets(integration, now)):
        return False
    # Our app's secret signs every shop's deliveries: a delivery for another shop is not this store's.
    shop, ours = headers.get("X-Shopify-Shop-Domain", ""), (integration.credentials or {}).get("shop_domain", "")
    return not (shop and ours and shop.lower() != ours.lower())


def identify(headers: Mapping[str, str], body: bytes) -> Delivery:
    """Shopify de-duplicates on (topic, X-Shopify-Event-Id): one event may fire several topics (an order
    created and paid at once), so the topic is part of the identity."""
    topic = (headers.get("X-Shopify-Topic") or "").strip().lower()[:128]
    identity = (headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id") or "").strip()
    if not identity:  # neither header: the same bytes on the same topic are the same delivery
        identity = "sha256:" + hashlib.sha256(body).hexdigest()
    kept = {name: headers[name][:255] for name in KEPT_HEADERS if headers.get(name)}
    return Delivery(topic=topic, delivery_id=f"{topic}:{identity}"[:255], headers=kept)


# ---------------------------------------------------------------- handlers


def _order(*, merchant: Merchant, integration: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    from orders.services import order_ingest

    if not isinstance(payload, Mapping):
        raise PermanentFailure("the body is not a JSON object")
    try:
        normalized = order_from_rest(payload)
    except (MappingError, ValueError, TypeError, ArithmeticError) as exc:
        raise PermanentFailure(f"not a Shopify order: {exc}") from exc
    result = order_ingest(merchant=merchant, integration_id=integration.pk, normalized=normalized)
    return {"order_id": result.order.pk, "action": result.outcome}


def _product(*, merchant: Merchant, integration: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    from integrations.sync import listings_upsert

    try:
        items = listings_from_rest_product(payload)
    except MappingError as exc:
        raise PermanentFailure(str(exc)) from exc
    counts = listings_upsert(merchant=merchant, integration=integration, items=items)
    return {"action": "listings", "product_id": gid_number(payload.get("id")), **counts}


def _inventory_level(*, merchant: Merchant, integration: Integration, payload: Any,
                     headers: Mapping[str, str]) -> dict:
    from integrations.sync import channel_ref_quantity_seen

    if not isinstance(payload, Mapping) or payload.get("inventory_item_id") is None:
        raise PermanentFailure("not a Shopify inventory level")
    location = gid_number(payload.get("location_id"))
    ours = str((integration.settings or {}).get("location_external_id") or "")
    if ours and location != ours:
        return {"action": "other-location", "location_id": location}
    if payload.get("available") is None:
        return {"action": "untracked"}
    item = gid_number(payload["inventory_item_id"])
    quantity = int(payload["available"])
    outcomes = channel_ref_quantity_seen(merchant=merchant, integration=integration, channel_ref=item,
                                         quantity=quantity)
    return {"action": "quantity-seen", "inventory_item_id": item, "available": quantity, "listings": outcomes}


def _uninstalled(*, merchant: Merchant, integration: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    from integrations.services import integration_uninstalled

    changed = integration_uninstalled(merchant=merchant, integration=integration)
    return {"action": "disconnected" if changed else "already-disconnected"}


def _customer(payload: Any) -> tuple[str, list[str]]:
    if not isinstance(payload, Mapping):
        raise PermanentFailure("the body is not a JSON object")
    customer = payload.get("customer") if isinstance(payload.get("customer"), Mapping) else {}
    ids = payload.get("orders_requested") or payload.get("orders_to_redact") or []
    return str(customer.get("email") or ""), [gid_number(i) for i in ids if i]


def _data_request(*, merchant: Merchant, integration: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    from orders.services.privacy import customer_orders_find

    email, ids = _customer(payload)
    found = customer_orders_find(merchant=merchant, integration_id=integration.pk, email=email, external_ids=ids)
    request = payload.get("data_request") if isinstance(payload.get("data_request"), Mapping) else {}
    return {"action": "data-request", "data_request_id": request.get("id"), "orders": found}


def _customer_redact(*, merchant: Merchant, integration: Integration, payload: Any,
                     headers: Mapping[str, str]) -> dict:
    from orders.services.privacy import orders_customer_redact

    email, ids = _customer(payload)
    redacted = orders_customer_redact(merchant=merchant, integration_id=integration.pk, email=email, external_ids=ids)
    return {"action": "customer-redacted", "order_ids": redacted}


def _shop_redact(*, merchant: Merchant, integration: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    from orders.services.privacy import orders_customer_redact

    redacted = orders_customer_redact(merchant=merchant, integration_id=integration.pk, everyone=True)
    return {"action": "shop-redacted", "order_ids": redacted}


def _permanent_on_mapping_error(handler):
    """A payload our mapping refuses will be refused again: no retry."""
    def run(**kwargs: Any) -> dict:
        try:
            return handler(**kwargs)
        except MappingError as exc:
            raise PermanentFailure(str(exc)) from exc
    run.__name__ = handler.__name__
    return run


RECEIVER = WebhookReceiver(
    channel=CHANNEL, verify=verify, identify=identify, signature_header="X-Shopify-Hmac-Sha256",
    handlers={topic: _permanent_on_mapping_error(handler) for topic, handler in {
        "orders/create": _order, "orders/updated": _order, "orders/cancelled": _order, "orders/paid": _order,
        "orders/fulfilled": _order, "orders/partially_fulfilled": _order,
        "products/update": _product, "products/create": _product,
        "inventory_levels/update": _inventory_level,
        "app/uninstalled": _uninstalled,
        "customers/data_request": _data_request, "customers/redact": _customer_redact, "shop/redact": _shop_redact,
    }.items()},
)
