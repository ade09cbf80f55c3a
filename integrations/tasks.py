"""Integrations tasks: ids in, the merchant's scope entered by TenantTask, one service of the sync
engine (integrations.sync) called. Fan-outs run on beat outside any scope and enqueue per merchant."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Merchant
from accounts.tasks import TenantTask
from core.http import Throttled, Transient
from integrations.listings import listings_import_run
from integrations.models import Integration
from integrations.sync import (
    CONNECT_STEPS,
    SYNC_STEPS,
    integration_job_run,
    integration_poll,
    integration_poll_schedule,
    integration_webhooks_remove,
    integrations_due_for_poll,
    listings_push,
    stock_push,
    stock_push_due_merchant_ids,
    tracking_push,
    tracking_push_due_merchant_ids,
)

RETRYABLE = (Throttled, Transient)


@shared_task(base=TenantTask, name="integrations.integration_connect", retry_for=RETRYABLE, max_retries=5)
def integration_connect_task(*, merchant: Merchant, integration_id: int, job_id: int) -> str:
    return integration_job_run(merchant=merchant, integration_id=integration_id, job_id=job_id, steps=CONNECT_STEPS)


@shared_task(base=TenantTask, name="integrations.integration_sync", retry_for=RETRYABLE, max_retries=5)
def integration_sync_task(*, merchant: Merchant, integration_id: int, job_id: int) -> str:
    return integration_job_run(merchant=merchant, integration_id=integration_id, job_id=job_id, steps=SYNC_STEPS)


@shared_task(base=TenantTask, name="integrations.integration_poll", retry_for=RETRYABLE, max_retries=3)
def integration_poll_task(*, merchant: Merchant, integration_id: int) -> str:
    return integration_poll(merchant=merchant, integration_id=integration_id)


@shared_task(name="integrations.integration_poll_fanout")
def integration_poll_fanout() -> int:
    """Beat, every minute: a poll for each active integration whose next poll is due."""
    due = integrations_due_for_poll()
    for merchant_id, integration_id in due:
        integration_poll_schedule_task.apply_async(kwargs={"merchant_id": merchant_id,
                                                           "integration_id": integration_id})
    return len(due)


@shared_task(base=TenantTask, name="integrations.integration_poll_schedule")
def integration_poll_schedule_task(*, merchant: Merchant, integration_id: int) -> str:
    """Book the next poll first (so the next fan-out does not enqueue this one again), then poll."""
    integration = Integration.objects.filter(merchant=merchant, pk=integration_id,
                                             status=Integration.Status.ACTIVE).first()
    if integration is None:
        return "inactive"
    integration_poll_schedule(merchant=merchant, integration=integration)
    integration_poll_task.apply_async(kwargs={"merchant_id": merchant.pk, "integration_id": integration_id})
    return "scheduled"


@shared_task(base=TenantTask, name="integrations.stock_push")
def stock_push_task(*, merchant: Merchant) -> str:
    result = stock_push(merchant=merchant)
    return "ok " + " ".join(f"{k}={v}" for k, v in sorted(result.items()))


@shared_task(base=TenantTask, name="integrations.listings_push", retry_for=RETRYABLE, max_retries=5)
def listings_push_task(*, merchant: Merchant, integration_id: int) -> str:
    """After the merchant changed push rules or the location: every matched listing, pushed if it differs."""
    try:
        integration = Integration.objects.get(merchant=merchant, pk=integration_id)
    except Integration.DoesNotExist:
        return "missing"
    result = listings_push(merchant=merchant, integration=integration)
    return f"ok pushed={result['pushed']} failed={result['failed']}"


@shared_task(name="integrations.stock_push_fanout")
def stock_push_fanout() -> int:
    """Beat, every minute: the safety net behind the debounced push (a lost enqueue, a lease run out)."""
    ids = stock_push_due_merchant_ids()
    for merchant_id in ids:
        stock_push_task.apply_async(kwargs={"merchant_id": merchant_id})
    return len(ids)


@shared_task(base=TenantTask, name="integrations.tracking_push")
def tracking_push_task(*, merchant: Merchant) -> str:
    result = tracking_push(merchant=merchant)
    return "ok " + " ".join(f"{k}={v}" for k, v in sorted(result.items()))


@shared_task(name="integrations.tracking_push_fanout")
def tracking_push_fanout() -> int:
    """Beat, every minute: one tracking push per merchant with tracking rows due."""
    ids = tracking_push_due_merchant_ids()
    for merchant_id in ids:
        tracking_push_task.apply_async(kwargs={"merchant_id": merchant_id})
    return len(ids)


@shared_task(base=TenantTask, name="integrations.integration_webhooks_remove", retry_for=RETRYABLE, max_retries=5)
def integration_webhooks_remove_task(*, merchant: Merchant, integration_id: int) -> str:
    return integration_webhooks_remove(merchant=merchant, integration_id=integration_id)


@shared_task(base=TenantTask, name="integrations.listings_import")
def listings_import_task(*, merchant: Merchant, job_id: int) -> str:
    """"Import unmatched listings as products": the job's listings, each committed on its own."""
    return listings_import_run(merchant=merchant, job_id=job_id)
