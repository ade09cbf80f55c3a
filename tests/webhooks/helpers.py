"""Webhook events as the receiver stores them, written directly: these tests are about reading and replaying."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

from django.utils import timezone

from core.receivers import webhook_path
from webhooks.models import WebhookEndpoint, WebhookEvent

_ids = itertools.count(1)
ORDER_BODY = json.dumps({"id": 820982911946154508, "name": "#1001", "currency": "EUR"}).encode()


def make_event(integration, *, status: str = WebhookEvent.Status.PROCESSED, topic: str = "orders/create",
               body: bytes | None = ORDER_BODY, received_at: datetime | None = None, pruned: bool = False,
               **fields) -> WebhookEvent:
    delivery = f"evt-{next(_ids)}"
    webhook_path(kind="channel", owner=integration)  # the store's endpoint, made on first use
    endpoint = WebhookEndpoint.objects.get(integration=integration)
    return WebhookEvent.objects.create(
        merchant=integration.merchant, endpoint=endpoint, integration=integration, channel=integration.channel,
        topic=topic,
        delivery_id=delivery, headers={"X-Shopify-Topic": topic, "X-Shopify-Event-Id": delivery},
        body=None if pruned else body, status=status, received_at=received_at or timezone.now(),
        body_pruned_at=timezone.now() if pruned else None, **fields)
