"""The beat schedule run in-process, for `make run` (no Redis, tasks run eagerly): what production's
`celery beat` does, so polls, tracking pushes, allocation top-ups, the webhook dispatcher and the job
sweeper all happen on a laptop too.

Interval entries only (every schedule we declare is one); a crontab entry is logged and skipped. Each
entry is due at start-up and then every interval; a task that raises is logged and the others go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from celery import current_app
from celery.schedules import schedule as interval_schedule
from django.db import close_old_connections

logger = logging.getLogger(__name__)

Send = Callable[[str, tuple, dict], Any]


def _interval_seconds(value: Any) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, interval_schedule) and type(value) is interval_schedule:
        return value.run_every.total_seconds()
    return None


def _run_task(task_name: str, args: tuple, kwargs: dict) -> Any:
    """Run the registered task here (tasks are eager under make run), loading task modules first."""
    app = current_app
    if task_name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[task_name].apply(args=args, kwargs=kwargs)


class InProcessBeat:
    """Keeps each entry's next due time on a monotonic clock; `tick(now)` runs what is due."""

    def __init__(self, entries: Mapping[str, Mapping[str, Any]], *, now: float, send: Send = _run_task):
        self.send = send
        self.entries: dict[str, tuple[str, float, tuple, dict]] = {}
        self.due_at: dict[str, float] = {}
        for name, entry in entries.items():
            seconds = _interval_seconds(entry.get("schedule"))
            if not seconds or seconds <= 0:
                logger.warning("core.scheduler.entry_skipped", extra={"entry": name})
                continue
            self.entries[name] = (entry["task"], seconds, tuple(entry.get("args") or ()), dict(entry.get("kwargs") or {}))
            self.due_at[name] = now

    def tick(self, now: float) -> list[str]:
        """Run every entry due at `now` (in name order); returns their names."""
        ran = []
        for name in sorted(self.entries):
            if self.due_at[name] > now:
                continue
            task_name, seconds, args, kwargs = self.entries[name]
            self.due_at[name] = now + seconds
            try:
                result = self.send(task_name, args, kwargs)
                if getattr(result, "failed", lambda: False)():
                    logger.warning("core.scheduler.task_failed", extra={"task": task_name,
                                                                         "error": repr(result.result)})
            except Exception:  # noqa: BLE001 - one failing task must not stop the others
                logger.exception("core.scheduler.task_failed", extra={"task": task_name})
            ran.append(name)
        return ran

    def next_due(self) -> float | None:
        return min(self.due_at.values(), default=None)


def beat_thread_start(entries: Mapping[str, Mapping[str, Any]] | None = None, *,
                      stop: threading.Event | None = None) -> tuple[threading.Thread, threading.Event]:
    """Start the schedule (the Celery app's beat_schedule by default) on a daemon thread; returns the
    thread and the event that stops it."""
    stop = stop or threading.Event()
    beat = InProcessBeat(current_app.conf.beat_schedule if entries is None else entries, now=time.monotonic())

    def loop() -> None:
        while not stop.is_set():
            close_old_connections()
            beat.tick(time.monotonic())
            close_old_connections()
            nxt = beat.next_due()
            stop.wait(max(0.5, min(5.0, (nxt - time.monotonic()) if nxt is not None else 5.0)))

    thread = threading.Thread(target=loop, name="in-process-beat", daemon=True)
    thread.start()
    logger.info("core.scheduler.started", extra={"entries": sorted(beat.entries)})
    return thread, stop
