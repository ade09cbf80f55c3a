"""Inventory tasks: ids in, the merchant's scope entered by TenantTask, one service called."""

from __future__ import annotations

from celery import shared_task

from accounts.tasks import TenantTask, task_merchant


@shared_task(base=TenantTask, bind=True, name="inventory.low_stock_notify", max_retries=5, default_retry_delay=60)
def low_stock_notify_task(self, *, merchant_id: int, product_ids: list[int]) -> str:
    from inventory.services import low_stock_notify

    merchant = task_merchant(merchant_id)
    if merchant is None:
        return "missing"
    try:
        return low_stock_notify(merchant=merchant, product_ids=product_ids)
    except OSError as exc:  # the mail server did not answer: try again later
        raise self.retry(exc=exc)


@shared_task(base=TenantTask, bind=True, name="inventory.stock_import_apply", max_retries=0)
def stock_import_apply_task(self, *, merchant_id: int, import_id: int) -> str:
    from inventory.services.imports import stock_import_run_job

    merchant = task_merchant(merchant_id)
    if merchant is None:
        return "missing"
    return stock_import_run_job(merchant=merchant, import_id=import_id)
