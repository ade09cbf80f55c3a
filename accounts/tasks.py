"""The base class of every tenant task: it enters the merchant's scope from the task's own arguments."""

from __future__ import annotations

from typing import Any

from celery import Task, current_app
from django.db import transaction

from accounts.models import Merchant
from accounts.tenancy import tenant_scope


class TenantTask(Task):
    """Tasks take `merchant_id` as a keyword and run inside that merchant's scope.

    Eager tasks would otherwise inherit the caller's scope and hide a task that forgets
    to enter its own; this enters it explicitly every time.
    """

    abstract = True
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        merchant_id = kwargs.get("merchant_id")
        if merchant_id is None:
            raise TypeError(f"{self.name} needs merchant_id=... to enter the tenant scope")
        with tenant_scope(int(merchant_id)):
            return super().__call__(*args, **kwargs)


def task_merchant(merchant_id: int) -> Merchant | None:
    """The active merchant a task works for, or None when it was deleted or deactivated meanwhile
    (the task then reports "missing" instead of failing and being retried)."""
    return Merchant.objects.filter(pk=merchant_id, is_active=True).first()


def enqueue_on_commit(task: Task | str, **kwargs: Any) -> None:
    """Send a task once the current transaction commits (a bare .delay() inside one is a bug)."""

    def send() -> None:
        # A name is resolved to the registered task, so in-process (eager) mode runs it here
        # instead of send_task() pushing it to a broker nobody may be reading.
        target = current_app.tasks[task] if isinstance(task, str) else task
        target.apply_async(kwargs=kwargs)

    transaction.on_commit(send)
