"""Scrape-time gauges for the webhook inbox (core.metrics.gauge_sources)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count
from prometheus_client.core import Metric

from accounts.tenancy import unscoped
from core.metrics import gauge
from webhooks.models import WebhookEvent

# Processed rows stay for weeks (late duplicates are refused by them): counting them would scan the table.
OPEN = [WebhookEvent.Status.RECEIVED, WebhookEvent.Status.PROCESSING, WebhookEvent.Status.FAILED,
        WebhookEvent.Status.DEAD]


def webhook_gauges() -> Iterable[Metric]:
    with unscoped("metrics: webhook deliveries of every merchant"):
        rows = list(WebhookEvent.objects.filter(status__in=OPEN).values_list("channel", "status")
                    .annotate(n=Count("id")).order_by())
    inbox = sum(n for _, status, n in rows if status != WebhookEvent.Status.DEAD)
    return [
        gauge("switchboard_webhook_events", "Webhook deliveries not yet processed, by channel and status "
              "(dead: out of attempts, waiting for a person).", ["channel", "status"],
              [((channel, status), n) for channel, status, n in rows]),
        gauge("switchboard_outbox_depth", "Rows an outbox consumer has still to handle.", ["outbox"],
              [(("webhook_inbox",), inbox)]),
    ]
