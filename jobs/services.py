"""The life of a WorkerJob: queued → running → succeeded | failed (will retry) | dead (gave up)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import OperationalError, connections, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Merchant, User
from jobs.models import WorkerJob

logger = logging.getLogger(__name__)

# The second connection of config/settings.py (PostgreSQL only).
LIVE_DB = "progress"


def job_create(
    *, merchant: Merchant, kind: str, description: str = "", params: dict[str, Any] | None = None,
    total: int | None = None, created_by: User | None = None, max_attempts: int = 5,
) -> WorkerJob:
    return WorkerJob.objects.create(
        merchant=merchant, kind=kind, description=description[:255], params=params or {},
        progress_total=total, created_by=created_by, max_attempts=max_attempts,
    )


def job_start(*, job: WorkerJob) -> WorkerJob:
    """Mark an attempt as started; a retried task counts another attempt."""
    now = timezone.now()
    _write_live(job=job, fields={"status": WorkerJob.Status.RUNNING, "attempts": F("attempts") + 1,
                                 "started_at": now, "updated_at": now})
    job.refresh_from_db()
    return job


def job_progress(*, job: WorkerJob, done: int, total: int | None = None) -> None:
    """Progress is written outside the job's own transaction so the dashboard sees it move."""
    fields: dict[str, Any] = {"progress_done": done, "updated_at": timezone.now()}
    if total is not None:
        fields["progress_total"] = total
    _write_live(job=job, fields=fields)
    job.progress_done = done
    if total is not None:
        job.progress_total = total


def _write_live(*, job: WorkerJob, fields: dict[str, Any]) -> None:
    """Write a running job's status or progress so that others see it now.

    Outside a transaction the ordinary connection commits at once. Inside the job's own
    transaction (an import applying its rows) that write would show only at commit, so it goes
    through the second connection and commits there. Two cases stay on the ordinary connection:
    a job created in the still-open transaction (the other connection cannot see the row yet)
    and a job row that transaction has locked (waiting for it would wait for ourselves; the
    short lock_timeout turns that into a fallback instead of a hang).
    """
    if LIVE_DB in settings.DATABASES and _own_transaction_open():
        try:
            with transaction.atomic(using=LIVE_DB):
                with connections[LIVE_DB].cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")
                if WorkerJob.objects.using(LIVE_DB).filter(merchant_id=job.merchant_id, pk=job.pk).update(**fields):
                    return
        except OperationalError:
            logger.warning("jobs.progress.live_write_failed", extra={"job_id": job.pk}, exc_info=True)
    WorkerJob.objects.filter(merchant_id=job.merchant_id, pk=job.pk).update(**fields)


def _own_transaction_open() -> bool:
    """Is the caller inside a transaction of its own? The atomic blocks a TestCase wraps every
    test in do not count (Django's durable=True check skips them the same way)."""
    blocks = transaction.get_connection().atomic_blocks
    return any(not getattr(block, "_from_testcase", False) for block in blocks)


def job_succeed(*, job: WorkerJob, result: dict[str, Any] | None = None) -> WorkerJob:
    job.status = WorkerJob.Status.SUCCEEDED
    job.result = result or {}
    job.last_error = ""
    job.finished_at = timezone.now()
    if job.progress_total is not None:
        job.progress_done = job.progress_total
    job.save(update_fields=["status", "result", "last_error", "finished_at", "progress_done", "updated_at"])
    return job


def job_fail(*, job: WorkerJob, error: str, retryable: bool = True) -> WorkerJob:
    """Record a failed attempt; past max_attempts (or when it cannot recover) the job is dead."""
    job.refresh_from_db(fields=["attempts", "max_attempts"])
    dead = not retryable or job.attempts >= job.max_attempts
    job.status = WorkerJob.Status.DEAD if dead else WorkerJob.Status.FAILED
    job.last_error = error[:4000]
    job.finished_at = timezone.now() if dead else None
    with transaction.atomic():
        job.save(update_fields=["status", "last_error", "finished_at", "updated_at"])
    return job
