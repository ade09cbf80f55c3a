"""Inventory tasks: ids in, the merchant's scope entered by TenantTask, one service called."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Merchant
from accounts.tasks import TenantTask


def _merchant(merchant_id: int) -> Merchant:
    return Merchant.objects.get(pk=merchant_id)


@shared_task(base=TenantTask, bind=True, name="inventory.low_stock_notify", max_retries=5, default_retry_delay=60)
def low_stock_notify_task(self, *, merchant_id: int, product_ids: list[int]) -> str:
    from inventory.services import low_stock_notify

    try:
        return low_stock_notify(merchant=_merchant(merchant_id), product_ids=product_ids)
    except OSError as exc:  # the mail server did not answer: try again later
        raise self.retry(exc=exc)


@shared_task(base=TenantTask, bind=True, name="inventory.stock_import_apply", max_retries=0)
def stock_import_apply_task(self, *, merchant_id: int, import_id: int) -> str:
    from inventory.services.imports import stock_import_run_job

    return stock_import_run_job(merchant=_merchant(merchant_id), import_id=import_id)
