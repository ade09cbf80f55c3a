"""Shopify's webhook receiver (reference §1.9): how a delivery is verified, what identifies it, and which
domain service each topic goes to. The inbox (webhooks app) stores and retries; this only knows Shopify.

- Verification: base64 HMAC-SHA256 of the raw body with the app's client secret (a custom app's own
  `client_secret` in the credentials, else our app's SHOPIFY_CLIENT_SECRET); the previous secret is
  accepted for ROTATION_GRACE after a rotation, because Shopify may keep signing with it that long.
- Identity: the topic and X-Shopify-Event-Id (the same across Shopify's retries), else X-Shopify-Webhook-Id.
- Topics: orders/* → order_ingest (an update before its create, or `paid` for an order never seen,
  creates it); bulk_operations/finish → the waiting backfill (integrations/sync/bulk.py); products/update → listings; inventory_levels/update → echo or drift; app/uninstalled →
  disconnected and tokens forgotten; the compliance topics → the customer's data found or erased.
- The topic is not signed (Shopify signs only the body), so each handler first checks that the body is
  its topic's payload (`_expect`): an order body re-sent as `shop/redact` or `app/uninstalled` is
  refused with the reason (PermanentFailure: stored `failed`, nothing done). The shop-level topics
  (app/uninstalled, shop/redact, customers/*) also name their shop, which must be this store's.
- After an uninstall the store is disconnected and its deliveries are refused, except the compliance
  topics (`COMPLIANCE_TOPICS`): `shop/redact` comes 48 hours later, signed with our app's secret.
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
from core.receivers import Delivery, PermanentFailure, WebhookReceiver, hmac_base64_matches
from integrations.channels.shopify.bulk import FINISH_TOPIC, bulk_webhook_export_id
from integrations.channels.shopify.mapping import (
    CHANNEL,
    MappingError,
    gid_number,
    listings_from_rest_product,
    order_from_rest,
)
from integrations.models import Integration
from integrations.services import integration_uninstalled
from integrations.sync import bulk_export_finished, channel_ref_quantity_seen, listings_upsert
from orders.services import order_ingest
from orders.services.privacy import customer_orders_find, orders_customer_redact

ROTATION_GRACE = timedelta(hours=1)
COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
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


# ---------------------------------------------------------------- what each topic's body must be


# Keys that only one kind of payload carries: a body holding one of another topic's is not this topic's.
# (Orders trimmed by the API version or by protected-data rules may lack line_items, so any one will do.)
_ORDER_KEYS = ("line_items", "order_number", "financial_status", "total_price")
_PRODUCT_KEYS = ("variants",)
_CUSTOMER_KEYS = ("customer", "orders_to_redact", "orders_requested", "data_request")


def _expect(payload: Any, topic: str, *, required: dict[str, type | tuple[type, ...]],
            foreign: tuple[str, ...] = (), any_of: tuple[str, ...] = ()) -> Mapping[str, Any]:
    """`payload` as the JSON object `topic` sends: every `required` key present with its type, at least one
    of `any_of`, none of the `foreign` keys (another topic's mark). Else PermanentFailure naming what is
    wrong: the topic header is not signed, so a body of one topic re-sent under another must change nothing."""
    if not isinstance(payload, Mapping):
        raise PermanentFailure(f"not a {topic} payload: the body is not a JSON object")
    for key, kind in required.items():
        if key not in payload or isinstance(payload[key], bool) or not isinstance(payload[key], kind):
            raise PermanentFailure(f"not a {topic} payload: {key!r} is missing or malformed")
    if any_of and not any(key in payload for key in any_of):
        raise PermanentFailure(f"not a {topic} payload: it has none of {', '.join(map(repr, any_of))}")
    stray = [key for key in foreign if key in payload]
    if stray:
        raise PermanentFailure(f"not a {topic} payload: it carries {', '.join(map(repr, stray))}")
    return payload


def _same_shop(integration: Integration, payload: Mapping[str, Any], key: str, topic: str) -> None:
    """A shop-level topic acts on the whole store: its body must name this store's shop (by domain, and by
    id when we know it)."""
    ours = str((integration.credentials or {}).get("shop_domain") or "").lower()
    theirs = str(payload.get(key) or "").lower()
    if not ours or theirs != ours:
        raise PermanentFailure(f"{topic} names shop {theirs or '(none)'!r}, not this store's")
    known_id = (integration.settings or {}).get("shop_id") or (integration.credentials or {}).get("shop_id")
    their_id = payload.get("shop_id", payload.get("id"))
    if known_id and str(their_id) != str(known_id):
        raise PermanentFailure(f"{topic} names shop id {their_id!r}, not this store's")


# ---------------------------------------------------------------- handlers


def _order(*, merchant: Merchant, owner: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    topic = headers.get("X-Shopify-Topic") or "orders/*"
    _expect(payload, topic, required={"id": (int, str)}, any_of=_ORDER_KEYS,
            foreign=(*_PRODUCT_KEYS, "shop_domain", "myshopify_domain", "inventory_item_id"))
    try:
        normalized = order_from_rest(payload)
    except (MappingError, ValueError, TypeError, ArithmeticError) as exc:
        raise PermanentFailure(f"not a Shopify order: {exc}") from exc
    result = order_ingest(merchant=merchant, integration_id=owner.pk, normalized=normalized)
    return {"order_id": result.order.pk, "action": result.outcome}


def _product(*, merchant: Merchant, owner: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    topic = headers.get("X-Shopify-Topic") or "products/*"
    _expect(payload, topic, required={"id": (int, str), "variants": list},
            foreign=(*_ORDER_KEYS, "shop_domain", "myshopify_domain"))
    try:
        items = listings_from_rest_product(payload)
    except MappingError as exc:
        raise PermanentFailure(str(exc)) from exc
    counts = listings_upsert(merchant=merchant, integration=owner, items=items)
    return {"action": "listings", "product_id": gid_number(payload.get("id")), **counts}


def _inventory_level(*, merchant: Merchant, owner: Integration, payload: Any,
                     headers: Mapping[str, str]) -> dict:
    _expect(payload, "inventory_levels/update", required={"inventory_item_id": (int, str), "location_id": (int, str)},
            foreign=(*_ORDER_KEYS, *_PRODUCT_KEYS, "shop_domain"))
    location = gid_number(payload.get("location_id"))
    ours = str((owner.settings or {}).get("location_external_id") or "")
    if ours and location != ours:
        return {"action": "other-location", "location_id": location}
    if payload.get("available") is None:
        return {"action": "untracked"}
    item = gid_number(payload["inventory_item_id"])
    quantity = int(payload["available"])
    outcomes = channel_ref_quantity_seen(merchant=merchant, integration=owner, channel_ref=item,
                                         quantity=quantity)
    return {"action": "quantity-seen", "inventory_item_id": item, "available": quantity, "listings": outcomes}


def _bulk_finished(*, merchant: Merchant, owner: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    """bulk_operations/finish: `admin_graphql_api_id` (the operation) and its lower-case `status`; the orders
    step waiting on that operation reads it (integrations/sync/bulk.py). Another operation changes nothing."""
    body = _expect(payload, FINISH_TOPIC, required={"admin_graphql_api_id": str, "status": str},
                   foreign=(*_ORDER_KEYS, *_PRODUCT_KEYS, *_CUSTOMER_KEYS, "shop_domain", "inventory_item_id"))
    export_id, state = bulk_webhook_export_id(dict(body))
    return bulk_export_finished(merchant=merchant, integration=owner, export_id=export_id, state=state)


def _uninstalled(*, merchant: Merchant, owner: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    """The body is the shop resource (§1.9.5): its id and its myshopify.com domain (`myshopify_domain`, else
    `domain`), which must be this store's."""
    shop = _expect(payload, "app/uninstalled", required={"id": (int, str)}, any_of=("myshopify_domain", "domain"),
                   foreign=(*_ORDER_KEYS, *_PRODUCT_KEYS, *_CUSTOMER_KEYS, "inventory_item_id", "shop_domain"))
    _same_shop(owner, shop, "myshopify_domain" if shop.get("myshopify_domain") else "domain", "app/uninstalled")
    changed = integration_uninstalled(merchant=merchant, integration=owner)
    return {"action": "disconnected" if changed else "already-disconnected"}


def _compliance(payload: Any, topic: str, owner: Integration, *, required: dict, foreign: tuple[str, ...]
                ) -> Mapping[str, Any]:
    body = _expect(payload, topic, required={"shop_domain": str, **required},
                   foreign=(*_ORDER_KEYS, *_PRODUCT_KEYS, "myshopify_domain", *foreign))
    _same_shop(owner, body, "shop_domain", topic)
    return body


def _customer(payload: Mapping[str, Any]) -> tuple[str, list[str]]:
    customer = payload["customer"]
    ids = payload.get("orders_requested") or payload.get("orders_to_redact") or []
    email = str(customer.get("email") or "")
    if not email and not ids:
        raise PermanentFailure("the request names neither an e-mail nor an order")
    return email, [gid_number(i) for i in ids if i]


def _data_request(*, merchant: Merchant, owner: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    body = _compliance(payload, "customers/data_request", owner,
                       required={"customer": Mapping, "orders_requested": list, "data_request": Mapping},
                       foreign=("orders_to_redact",))
    email, ids = _customer(body)
    found = customer_orders_find(merchant=merchant, integration_id=owner.pk, email=email, external_ids=ids)
    return {"action": "data-request", "data_request_id": body["data_request"].get("id"), "orders": found}


def _customer_redact(*, merchant: Merchant, owner: Integration, payload: Any,
                     headers: Mapping[str, str]) -> dict:
    body = _compliance(payload, "customers/redact", owner,
                       required={"customer": Mapping, "orders_to_redact": list},
                       foreign=("orders_requested", "data_request"))
    email, ids = _customer(body)
    redacted = orders_customer_redact(merchant=merchant, integration_id=owner.pk, email=email, external_ids=ids)
    return {"action": "customer-redacted", "order_ids": redacted}


def _shop_redact(*, merchant: Merchant, owner: Integration, payload: Any, headers: Mapping[str, str]) -> dict:
    """Everyone's data in this store: only for a body that is exactly a shop/redact (no customer in it)."""
    _compliance(payload, "shop/redact", owner, required={}, foreign=_CUSTOMER_KEYS)
    redacted = orders_customer_redact(merchant=merchant, integration_id=owner.pk, everyone=True)
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
    kind="channel", slug=CHANNEL, verify=verify, identify=identify, signature_header="X-Shopify-Hmac-Sha256",
    topics_after_disconnect=COMPLIANCE_TOPICS,
    handlers={topic: _permanent_on_mapping_error(handler) for topic, handler in {
        "orders/create": _order, "orders/updated": _order, "orders/cancelled": _order, "orders/paid": _order,
        "orders/fulfilled": _order, "orders/partially_fulfilled": _order,
        "products/update": _product, "products/create": _product,
        "inventory_levels/update": _inventory_level,
        "app/uninstalled": _uninstalled,
        FINISH_TOPIC: _bulk_finished,
        "customers/data_request": _data_request, "customers/redact": _customer_redact, "shop/redact": _shop_redact,
    }.items()},
)
