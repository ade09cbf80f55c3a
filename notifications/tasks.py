"""Celery tasks of notifications: ids in, the merchant's scope entered (TenantTask), one service called."""

from __future__ import annotations

import smtplib

from celery import shared_task

from accounts.tasks import TenantTask, task_merchant
from notifications import services

RETRY = {"autoretry_for": (smtplib.SMTPException, OSError), "retry_backoff": 30, "retry_backoff_max": 1800,
         "retry_jitter": True, "max_retries": 8}


@shared_task(base=TenantTask, bind=True, name="notifications.notification_deliver", **RETRY)
def notification_deliver_task(self, *, merchant_id: int, log_id: int) -> str:
    """Send one queued notification; a retry or duplicate delivery sends nothing twice."""
    merchant = task_merchant(merchant_id)
    if merchant is None:
        return "missing"
    return services.notification_deliver(merchant=merchant, log_id=log_id)


@shared_task(base=TenantTask, bind=True, name="orders.notification_deliver", **RETRY)
def notification_deliver_legacy_task(self, *, merchant_id: int, log_id: int) -> str:
    """The name this task had while it lived in orders: sends that are still in the broker when this
    version is deployed are delivered, not dropped as unregistered. Remove one release later."""
    merchant = task_merchant(merchant_id)
    if merchant is None:
        return "missing"
    return services.notification_deliver(merchant=merchant, log_id=log_id)
