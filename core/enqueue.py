"""Services schedule background work by task name, after commit, and import no tasks module.

Tasks import services, so a service importing tasks would close a loop; and a task sent before
its transaction commits can run before the rows it needs exist (or after they were rolled back).
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction


def enqueue_on_commit(task_name: str, /, **kwargs: Any) -> None:
    """Send the task named `task_name` (e.g. "inventory.stock_import_apply") once the current
    transaction commits; nothing is sent if it rolls back."""
    if not isinstance(task_name, str):
        raise TypeError("enqueue_on_commit takes a task name, not a task: services import no tasks module")
    transaction.on_commit(lambda: _send(task_name, kwargs))


def _send(task_name: str, kwargs: dict[str, Any]) -> None:
    app = current_app
    if not app.conf.task_always_eager:
        app.send_task(task_name, kwargs=kwargs)
        return
    # In-process mode (development, tests): run the registered task here instead of sending it
    # to a broker nobody may be reading. A process that has not imported the task modules yet
    # (the web process) loads them the way a worker does.
    if task_name not in app.tasks:
        app.loader.import_default_modules()
    app.tasks[task_name].apply_async(kwargs=kwargs)
