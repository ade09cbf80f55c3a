"""Webhook deliveries as Shopify sends them (§1.9.2, §1.9.3), for the webhook inbox's tests.

The body is the REST representation (`FakeOrder.to_rest()`), signed with the app's client secret: base64
HMAC-SHA256 over the raw bytes. `webhook_request` gives bytes and headers for Django's test client;
`send_webhook` POSTs them to a live URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

import requests

from .schema import API_VERSION


def sign_webhook_body(raw: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def webhook_request(*, topic: str, body: dict | bytes, secret: str, shop_domain: str,
                    api_version: str = API_VERSION, event_id: str | None = None, webhook_id: str | None = None,
                    triggered_at: datetime | None = None) -> tuple[bytes, dict[str, str]]:
    """Raw body and headers of one delivery. A retry of the same event keeps `event_id` (the documented
    de-duplication key) and gets a new `webhook_id`; pass the first delivery's event_id to model one."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_webhook_body(raw, secret),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": (triggered_at or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
    }
    return raw, headers


def send_webhook(url: str, *, topic: str, body: dict | bytes, secret: str, shop_domain: str,
                 timeout: float = 5.0, **options: object) -> requests.Response:
    """POST one delivery; Shopify gives the receiver 5 s and counts only a 2xx as delivered."""
    raw, headers = webhook_request(topic=topic, body=body, secret=secret, shop_domain=shop_domain,
                                   **options)  # type: ignore[arg-type]
    return requests.post(url, data=raw, headers=headers, timeout=timeout)
