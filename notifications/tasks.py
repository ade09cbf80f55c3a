"""Celery tasks of notifications: ids in, the merchant's scope entered (TenantTask), one service called."""

from __future__ import annotations

import smtplib

from celery import shared_task

from accounts.models import Merchant
from accounts.tasks import TenantTask
from notifications import services

RETRY = {"retry_for": (smtplib.SMTPException, OSError), "max_retries": 8}


@shared_task(base=TenantTask, name="notifications.notification_deliver", **RETRY)
def notification_deliver_task(*, merchant: Merchant, log_id: int) -> str:
    """Send one queued notification; a retry or duplicate delivery sends nothing twice."""
    return services.notification_deliver(merchant=merchant, log_id=log_id)


@shared_task(base=TenantTask, name="orders.notification_deliver", **RETRY)
def notification_deliver_legacy_task(*, merchant: Merchant, log_id: int) -> str:
    """The name this task had while it lived in orders: sends that are still in the broker when this
    version is deployed are delivered, not dropped as unregistered. Remove one release later."""
    return services.notification_deliver(merchant=merchant, log_id=log_id)


@shared_task(name="notifications.notifications_sweep")
def notifications_sweep_task() -> int:
    """Beat, every minute: notifications queued but never delivered (their send was lost)."""
    return services.notifications_sweep()
