"""The life of a WorkerJob: queued → running → succeeded | failed (will retry) | dead (gave up)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Merchant, User
from jobs.models import WorkerJob


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
    WorkerJob.objects.filter(pk=job.pk).update(
        status=WorkerJob.Status.RUNNING, attempts=F("attempts") + 1, started_at=now, updated_at=now
    )
    job.refresh_from_db()
    return job


def job_progress(*, job: WorkerJob, done: int, total: int | None = None) -> None:
    """Progress is written outside the job's own transaction so the dashboard sees it move."""
    fields: dict[str, Any] = {"progress_done": done, "updated_at": timezone.now()}
    if total is not None:
        fields["progress_total"] = total
    WorkerJob.objects.filter(pk=job.pk).update(**fields)
    job.progress_done = done
    if total is not None:
        job.progress_total = total


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
