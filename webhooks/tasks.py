"""Webhook inbox tasks: one attempt at one event (in the merchant's scope), and the beat jobs."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Merchant
from accounts.tasks import TenantTask
from webhooks.services import (
    webhook_event_process,
    webhook_events_dispatch,
    webhook_events_process,
    webhook_events_prune,
)


# No Celery retry: attempts and their times live on the row (next_attempt_at), the dispatcher re-sends.
@shared_task(base=TenantTask, name="webhooks.event_process", max_retries=0)
def event_process_task(*, merchant: Merchant, event_id: int) -> str:
    return webhook_event_process(merchant=merchant, event_id=event_id)


# What the dispatcher hands out: one merchant's events, a few at a time (webhooks.services._hand_over).
@shared_task(base=TenantTask, name="webhooks.events_process", max_retries=0)
def events_process_task(*, merchant: Merchant, event_ids: list[int]) -> str:
    outcomes = webhook_events_process(merchant=merchant, event_ids=event_ids)
    return " ".join(f"{outcome}={count}" for outcome, count in sorted(outcomes.items()))


@shared_task(name="webhooks.events_dispatch")
def events_dispatch() -> int:
    """Beat, every 30 s: the safety net behind `manage.py webhook_dispatcher` (events it has not handed out,
    because it is down or was busy), retries that are due, and events stranded past their lease."""
    return webhook_events_dispatch()


@shared_task(name="webhooks.events_prune")
def events_prune() -> str:
    """Beat, hourly: old processed bodies, then old rows."""
    result = webhook_events_prune()
    return f"ok bodies={result['bodies_pruned']} rows={result['rows_deleted']}"
