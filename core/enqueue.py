"""Services schedule background work by task name, after commit, and import no tasks module.

Tasks import services, so a service importing tasks would close a loop; and a task sent before
its transaction commits can run before the rows it needs exist (or after they were rolled back).

A send that fails after the commit (the broker is down) is logged, not raised: the request that
committed the work has succeeded and must say so (a 500 after the commit would make a client
retry work that is already recorded). What was sent is found again by its sweeper, from the rows
the transaction committed: jobs (`jobs.jobs_sweep`, from the task remembered on the WorkerJob),
webhook events (`webhooks.events_dispatch`), notifications (`notifications.notifications_sweep`), stock
pushes and tracking (their beat fan-outs). Not yet swept: the low-stock check's task (its alert is
claimed before the send, so a lost send loses that one e-mail).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)

KWARGSREPR_MAX = 1024  # Celery's own bound (app.amqp.kwargsrepr_maxsize)


def enqueue_on_commit(task_name: str, /, **kwargs: Any) -> None:
    """Send the task named `task_name` (e.g. "inventory.stock_import_apply") once the current
    transaction commits; nothing is sent if it rolls back."""
    if not isinstance(task_name, str):
        raise TypeError("enqueue_on_commit takes a task name, not a task: services import no tasks module")
    transaction.on_commit(lambda: _send(task_name, kwargs))


def enqueue_now(task_name: str, /, *, countdown: float | None = None, **kwargs: Any) -> bool:
    """Send the task named `task_name` now, `countdown` seconds ahead: for callers that run after a commit
    already (an on-commit hook such as inventory's on_marked) and have a sweeper or fan-out behind them.
    A broker that is down is logged, as after a commit; False then (the webhook dispatcher retries sooner)."""
    return _send(task_name, kwargs, countdown=countdown)


def _send(task_name: str, kwargs: dict[str, Any], *, countdown: float | None = None) -> bool:
    app = current_app
    if not app.conf.task_always_eager:
        # The message's own record of its arguments (for logs and monitors), written here: Celery's saferepr of
        # them was a quarter of a publish's CPU (the webhook dispatcher's hand-overs, BENCHMARKS.md "Webhook
        # inbox", 2026-12-08). Our tasks take no positional arguments and small keyword ones; cut as Celery cuts.
        kwargsrepr = repr(kwargs)
        if len(kwargsrepr) > KWARGSREPR_MAX:
            kwargsrepr = kwargsrepr[:KWARGSREPR_MAX - 3] + "..."
        try:
            app.send_task(task_name, kwargs=kwargs, countdown=countdown, argsrepr="()", kwargsrepr=kwargsrepr)
        except (BrokerUnavailable, OSError):
            logger.warning("core.enqueue.send_failed", exc_info=True, extra={"task": task_name})
            return False
        return True
    # In-process mode (development, tests): run the registered task here instead of sending it
    # to a broker nobody may be reading. A process that has not imported the task modules yet
    # (the web process) loads them the way a worker does.
    if task_name not in app.tasks:
        app.loader.import_default_modules()
    app.tasks[task_name].apply_async(kwargs=kwargs)
    return True
