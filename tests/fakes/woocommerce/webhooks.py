"""Webhook deliveries as WooCommerce sends them (class-wc-webhook.php `deliver()` and `deliver_ping()`).

- The creation ping: `POST delivery_url`, form-encoded body `webhook_id=<id>`, a Hookshot User-Agent, no
  X-WC-Webhook-* header and no signature; only an exact 200 counts (anything else is a WP_Error).
- A delivery: JSON body `trim(wp_json_encode(payload))`, `X-WC-Webhook-Signature` = base64 of the binary
  HMAC-SHA256 of those raw bytes with the webhook's secret, plus Source/Topic/Resource/Event/ID/Delivery-ID.
  Redirects are not followed. A 200–302 answer resets the failure count; anything else (or no answer) is a
  failure, and a failure arriving when the count is already above 5 disables the webhook (the 7th in a row).
- `X-WC-Webhook-Delivery-ID` is `wp_hash(webhook id . time())`: the same for every delivery of one webhook
  within one second, so it is no identity (modelled here with sha256 of the same two values).

`webhook_request` gives bytes and headers for Django's test client; `send_webhook` POSTs them to a URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import requests

USER_AGENT = "WooCommerce/9.9.0 Hookshot (WordPress/6.8.1)"
PING_TIMEOUT = 10.0
DELIVERY_TIMEOUT = 60.0


def sign_webhook_body(raw: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def encode_payload(payload: Any) -> bytes:
    """wp_json_encode: compact JSON with `/` escaped as `\\/` and non-ASCII kept as \\u escapes."""
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").strip().encode()


def delivery_id(webhook_id: int, at: float) -> str:
    return hashlib.sha256(f"{webhook_id}{int(at)}".encode()).hexdigest()[:32]


def webhook_request(*, topic: str, body: Any, secret: str, webhook_id: int = 1, source: str = "https://shop.example.test/",
                    at: float = 0.0) -> tuple[bytes, dict[str, str]]:
    """Raw body and headers of one delivery (`body` a dict is encoded the way WooCommerce encodes it)."""
    raw = body if isinstance(body, bytes) else encode_payload(body)
    resource, event = topic.split(".", 1)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-WC-Webhook-Source": source,
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign_webhook_body(raw, secret),
        "X-WC-Webhook-ID": str(webhook_id),
        "X-WC-Webhook-Delivery-ID": delivery_id(webhook_id, at),
    }
    return raw, headers


def ping_request(webhook_id: int) -> tuple[bytes, dict[str, str]]:
    """The creation ping: form-encoded, unsigned (wp_safe_remote_post with a string body)."""
    return f"webhook_id={webhook_id}".encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                                 "User-Agent": USER_AGENT}


def send_webhook(url: str, *, topic: str, body: Any, secret: str, timeout: float = DELIVERY_TIMEOUT,
                 **options: Any) -> requests.Response:
    raw, headers = webhook_request(topic=topic, body=body, secret=secret, **options)
    return requests.post(url, data=raw, headers=headers, timeout=timeout, allow_redirects=False)
