"""Inventory tasks: ids in, the merchant loaded and its scope entered by TenantTask, one service called."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Merchant
from accounts.tasks import TenantTask
from inventory.services import low_stock_notify, low_stock_sweep
from inventory.services.imports import stock_import_run_job


@shared_task(base=TenantTask, name="inventory.low_stock_notify", retry_for=(OSError,))
def low_stock_notify_task(*, merchant: Merchant, product_ids: list[int]) -> str:
    """Retried when the mail server does not answer (OSError covers SMTP connection failures)."""
    return low_stock_notify(merchant=merchant, product_ids=product_ids)


@shared_task(name="inventory.low_stock_sweep")
def low_stock_sweep_task() -> int:
    return low_stock_sweep()


@shared_task(base=TenantTask, name="inventory.stock_import_apply", max_retries=0)
def stock_import_apply_task(*, merchant: Merchant, import_id: int, job_id: int | None = None) -> str:
    return stock_import_run_job(merchant=merchant, import_id=import_id)
