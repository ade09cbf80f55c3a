"""Labels' tasks: thin, each one service call in the merchant's scope (TenantTask)."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Merchant
from accounts.tasks import TenantTask
from labels.services.batches import label_batch_run


@shared_task(base=TenantTask, name="labels.label_batch_run")
def label_batch_run_task(*, merchant: Merchant, job_id: int) -> str:
    return label_batch_run(merchant=merchant, job_id=job_id)
