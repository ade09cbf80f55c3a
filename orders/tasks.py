"""Celery tasks of the orders app: ids in, the merchant loaded and its scope entered (TenantTask), one service called."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from accounts.models import Merchant
from accounts.tasks import TenantTask
from accounts.tenancy import unscoped
from core.parsing import zone
from inventory.selectors import availability_pending_merchant_ids
from notifications.selectors import notification_digest_merchants
from orders import services
from orders.services.allocation import CONSUMER


@shared_task(base=TenantTask, name="orders.short_orders_allocate")
def short_orders_allocate_task(*, merchant: Merchant) -> str:
    result = services.short_orders_allocate(merchant=merchant)
    return f"ok marks={result['marks']} orders={result['orders']} units={result['units']}"


@shared_task(name="orders.short_orders_allocate_fanout")
def short_orders_allocate_fanout() -> int:
    """Beat, every minute: one allocation task per merchant with stock changes waiting for us."""
    ids = availability_pending_merchant_ids(consumer=CONSUMER)
    for merchant_id in ids:
        short_orders_allocate_task.apply_async(kwargs={"merchant_id": merchant_id})
    return len(ids)


@shared_task(base=TenantTask, name="orders.notification_daily_digest")
def notification_daily_digest_task(*, merchant: Merchant, day: str) -> str:
    log = services.notification_daily_digest(merchant=merchant, day=date.fromisoformat(day))
    return "queued" if log else "nothing"


@shared_task(name="orders.notification_daily_digest_fanout")
def notification_daily_digest_fanout() -> int:
    """Beat, hourly: yesterday's digest for every merchant who chose it, yesterday being the merchant's
    own (Merchant.timezone). The digest is keyed by day, so each goes out once, soon after the
    merchant's midnight, however often this runs."""
    now = timezone.now()
    with unscoped("beat fan-out: merchants wanting the daily digest"):
        merchants = notification_digest_merchants()
    for merchant_id, tz in merchants:
        day = timezone.localdate(now, zone(tz)) - timedelta(days=1)
        notification_daily_digest_task.apply_async(kwargs={"merchant_id": merchant_id, "day": day.isoformat()})
    return len(merchants)


@shared_task(base=TenantTask, name="orders.orders_bulk_run", max_retries=0)
def orders_bulk_run_task(*, merchant: Merchant, job_id: int) -> str:
    """Not retried: each order committed on its own, and a second run would report them as failures."""
    return services.orders_bulk_run_job(merchant=merchant, job_id=job_id)
