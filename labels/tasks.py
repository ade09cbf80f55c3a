"""Labels' tasks: thin, each one service call in the merchant's scope (TenantTask); the beat's fan-outs
list the merchants with work and queue one task each."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Merchant
from accounts.tasks import TenantTask
from accounts.tenancy import unscoped
from labels import selectors
from labels.services.batches import label_batch_run
from labels.services.purchase import labels_void_finish_due
from labels.services.tracking import labels_tracking_poll, merchants_to_poll


@shared_task(base=TenantTask, name="labels.label_batch_run")
def label_batch_run_task(*, merchant: Merchant, job_id: int) -> str:
    return label_batch_run(merchant=merchant, job_id=job_id)


@shared_task(base=TenantTask, name="labels.tracking_poll")
def labels_tracking_poll_task(*, merchant: Merchant) -> str:
    counts = labels_tracking_poll(merchant=merchant)
    return "ok " + " ".join(f"{k}={v}" for k, v in counts.items())


@shared_task(name="labels.tracking_poll_fanout")
def labels_tracking_poll_fanout() -> int:
    """Beat: one poll per merchant with labels of a polled carrier (ShipStation) to ask about."""
    with unscoped("beat fan-out: merchants with labels whose tracking is polled"):
        ids = merchants_to_poll()
    for merchant_id in ids:
        labels_tracking_poll_task.apply_async(kwargs={"merchant_id": merchant_id})
    return len(ids)


@shared_task(base=TenantTask, name="labels.void_finish_due")
def labels_void_finish_due_task(*, merchant: Merchant) -> str:
    counts = labels_void_finish_due(merchant=merchant)
    return f"ok finished={counts['finished']} failed={counts['failed']}"


@shared_task(name="labels.void_finish_fanout")
def labels_void_finish_fanout() -> int:
    """Beat: labels refunded at the carrier whose shipment was not taken back here yet."""
    with unscoped("beat fan-out: voided labels whose shipment is still shipped"):
        ids = selectors.merchants_with_unfinished_voids()
    for merchant_id in ids:
        labels_void_finish_due_task.apply_async(kwargs={"merchant_id": merchant_id})
    return len(ids)
