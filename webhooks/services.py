"""Webhook inbox services: receipt, processing, retries, replay and retention."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Merchant
from core.enqueue import enqueue_on_commit
from webhooks.models import WebhookEvent

PROCESS_TASK = "webhooks.event_process"


def webhook_event_enqueue(event: WebhookEvent) -> None:
    """Processing is sent after the commit; if the send is lost, the dispatcher finds the row anyway."""
    enqueue_on_commit(PROCESS_TASK, merchant_id=event.merchant_id, event_id=event.pk)


def webhook_events_replay(*, merchant: Merchant, events: QuerySet[WebhookEvent] | Iterable[WebhookEvent]) -> int:
    """Process these events again from scratch; returns how many were queued.

    Any status may be replayed (processed included: handlers are idempotent, so a replay of a
    processed event changes nothing unless the code that handles it changed). Only events whose
    body was pruned are skipped (nothing left to process) and are not counted. Events of another
    merchant are ignored: the ids are re-read under `merchant`.
    """
    ids = [e.pk for e in events] if not isinstance(events, QuerySet) else list(events.values_list("pk", flat=True))
    if not ids:
        return 0
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            WebhookEvent.objects.filter(merchant=merchant, pk__in=ids, body__isnull=False)
            .select_for_update().order_by("pk")
        )
        if not rows:
            return 0
        WebhookEvent.objects.filter(pk__in=[r.pk for r in rows]).update(
            status=WebhookEvent.Status.RECEIVED, attempts=0, next_attempt_at=now, last_error="",
            processed_at=None,
        )
        for row in rows:
            webhook_event_enqueue(row)
    return len(rows)
