"""The base class of every tenant task: it loads the merchant from the task's own arguments,
enters its scope, and retries what can recover with the shared backoff."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from accounts.models import Merchant
from accounts.tenancy import tenant_scope
from core.backoff import backoff_delay

logger = logging.getLogger(__name__)


class TenantTask(Task):
    """Tasks are sent `merchant_id=...` and their body receives `merchant=` (the Merchant), inside
    that merchant's scope. A merchant deleted or deactivated meanwhile makes the task return
    "missing" without running its body (not an error, so not retried).

        @shared_task(base=TenantTask, name="inventory.low_stock_notify", retry_for=(OSError,))
        def low_stock_notify_task(*, merchant: Merchant, product_ids: list[int]) -> str: ...

    One retry style: a task lists the exceptions it can recover from in `retry_for` (network
    errors, time-outs, throttling); those are retried up to `max_retries` times after
    core.backoff's delay (honouring an exception's `retry_after`), anything else fails at once.
    Eager tasks would otherwise inherit the caller's scope and hide a task that forgets to enter
    its own; this enters it explicitly every time.
    """

    abstract = True
    acks_late = True
    reject_on_worker_lost = True
    # Callers send merchant_id while the body takes merchant: Celery must not check the body's signature.
    typing = False
    retry_for: tuple[type[BaseException], ...] = ()
    max_retries = 5
    retry_base_seconds = 30.0
    # Past a few minutes a retry belongs in the database (next_attempt_at), not in a Celery countdown.
    retry_cap_seconds = 300.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        merchant_id = kwargs.pop("merchant_id", None)
        if merchant_id is None:
            raise TypeError(f"{self.name} needs merchant_id=... to enter the tenant scope")
        merchant = task_merchant(int(merchant_id))
        if merchant is None:
            logger.info("accounts.task.merchant_missing", extra={"task": self.name, "merchant_id": merchant_id})
            return "missing"
        with tenant_scope(merchant):
            try:
                # self.run, not super().__call__: Celery's __call__ would replace the request's
                # kwargs (what a retry re-sends) with these, and a Merchant is not JSON.
                return self.run(*args, merchant=merchant, **kwargs)
            except self.retry_for as exc:
                countdown = backoff_delay(self.request.retries + 1, base=self.retry_base_seconds,
                                          cap=self.retry_cap_seconds, retry_after=getattr(exc, "retry_after", None))
                raise self.retry(exc=exc, countdown=countdown) from exc


def task_merchant(merchant_id: int) -> Merchant | None:
    """The active merchant a task works for, or None when it was deleted or deactivated meanwhile."""
    return Merchant.objects.filter(pk=merchant_id, is_active=True).first()
