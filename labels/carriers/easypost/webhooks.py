"""EasyPost's tracker events through the inbox (kind "carrier", slug "easypost").

Verified as the SDK's `validate_webhook` does (reference §4.7): `X-Hmac-Signature: hmac-sha256-hex=<hex>`,
HMAC-SHA256 over the raw body keyed with the account's own webhook secret, NFKD-normalised and UTF-8
encoded, compared in constant time, before anything is parsed. A delivery's identity is the SHA-256 of
its body (nothing is read from an unverified body); a repeated event is stored once, and one whose body
differs (EasyPost's retries update `pending_urls`) is handled idempotently (same status: no change).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from core.receivers import Delivery, PermanentFailure, WebhookReceiver
from labels.services.tracking import label_tracking_event

SIGNATURE_HEADER = "X-Hmac-Signature"
# EasyPost tracker statuses to ours; unknown ones (unknown, available_for_pickup's cousins) change nothing.
STATUSES = {"pre_transit": "pre_transit", "in_transit": "in_transit", "out_for_delivery": "out_for_delivery",
            "available_for_pickup": "out_for_delivery", "delivered": "delivered", "return_to_sender": "returned",
            "failure": "exception", "error": "exception", "cancelled": "exception"}


def signature_for(body: bytes, secret: str) -> str:
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(owner: Any, headers: Mapping[str, str], body: bytes, now: datetime) -> bool:
    given = headers.get(SIGNATURE_HEADER) or ""
    secret = getattr(owner, "webhook_secret", "") or ""
    if not given or not secret:
        return False
    return hmac.compare_digest(signature_for(body, secret).encode(), given.strip().encode())


def identify(headers: Mapping[str, str], body: bytes) -> Delivery:
    return Delivery(topic="event", delivery_id=hashlib.sha256(body).hexdigest(), headers={})


def event_handle(*, merchant, owner, payload: Any, headers: Mapping[str, str]) -> dict[str, Any]:
    if not isinstance(payload, Mapping) or payload.get("object") != "Event":
        raise PermanentFailure("Not an EasyPost Event.")
    if payload.get("description") != "tracker.updated":
        return {"action": "ignored", "reason": f"event {str(payload.get('description'))[:64]!r}"}
    tracker = payload.get("result")
    if not isinstance(tracker, Mapping) or not tracker.get("tracking_code"):
        raise PermanentFailure("A tracker.updated event without a tracker.")
    status = STATUSES.get(str(tracker.get("status") or ""))
    if status is None:
        return {"action": "ignored", "reason": f"status {str(tracker.get('status'))[:32]!r}"}
    details = [d for d in tracker.get("tracking_details") or [] if isinstance(d, Mapping)]
    description = str(details[-1].get("message") or "") if details else ""
    occurred_at = parse_datetime(str(tracker.get("updated_at") or "")) if tracker.get("updated_at") else None
    return label_tracking_event(merchant=merchant, account=owner, tracking_number=str(tracker["tracking_code"]),
                                status=status, description=description, occurred_at=occurred_at)


RECEIVER = WebhookReceiver(kind="carrier", slug="easypost", verify=verify, identify=identify,
                           handlers={"event": event_handle}, signature_header=SIGNATURE_HEADER)
