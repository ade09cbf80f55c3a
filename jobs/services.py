"""The life of a WorkerJob: queued → running → succeeded | failed (will retry) | dead (gave up).

`job_run` owns that life for every job body: it claims the job (one worker at a time), keeps a
lease while the body runs (renewed by progress and by a heartbeat), and records success, failure
and the terminal states. `job_create(task_name=...)` remembers the task that runs the job, and
`jobs_sweep` (beat) sends it again when it was never started (the broker was down when it was sent)
or when its worker stopped renewing the lease (killed): the page then says "Stalled, retrying".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Merchant, User
from accounts.tenancy import tenant_scope, unscoped
from core.enqueue import enqueue_on_commit
from core.outbox import claim_due
from jobs.models import WorkerJob

logger = logging.getLogger(__name__)

# The second connection of config/settings.py (PostgreSQL only).
LIVE_DB = "progress"


def lease_seconds() -> float:
    """How long a running job's lease lasts without renewal (and a queued job waits for a worker
    before its task is sent again)."""
    return float(getattr(settings, "JOB_LEASE_SECONDS", 120))


def job_create(
    *, merchant: Merchant, kind: str, description: str = "", params: dict[str, Any] | None = None,
    total: int | None = None, created_by: User | None = None, max_attempts: int = 5,
    task_name: str = "", task_kwargs: dict[str, Any] | None = None,
) -> WorkerJob:
    """A new queued job. With `task_name`, the task is sent after commit with `task_kwargs` plus
    `merchant_id` and `job_id`, and remembered, so the sweeper sends it again if no worker starts
    it in time (the send was lost)."""
    job = WorkerJob.objects.create(
        merchant=merchant, kind=kind, description=description[:255], params=params or {},
        progress_total=total, created_by=created_by, max_attempts=max_attempts,
        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds()) if task_name else None,
    )
    if task_name:
        job.task_name, job.task_kwargs = task_name, {**(task_kwargs or {}), "job_id": job.pk}
        job.save(update_fields=["task_name", "task_kwargs"])
        enqueue_on_commit(task_name, merchant_id=merchant.pk, **job.task_kwargs)
    return job


def job_start(*, job: WorkerJob) -> WorkerJob:
    """Mark an attempt as started (a retried task counts another attempt) and take the lease."""
    now = timezone.now()
    _write_live(job=job, fields={"status": WorkerJob.Status.RUNNING, "attempts": F("attempts") + 1,
                                 "started_at": now, "updated_at": now, "stalled_at": None,
                                 "lease_expires_at": now + timedelta(seconds=lease_seconds())})
    job.refresh_from_db()
    return job


def job_progress(*, job: WorkerJob, done: int, total: int | None = None) -> None:
    """Progress is written outside the job's own transaction so the dashboard sees it move; it
    renews the lease too (a job that moves is alive)."""
    now = timezone.now()
    fields: dict[str, Any] = {"progress_done": done, "updated_at": now}
    if job.status == WorkerJob.Status.RUNNING:
        fields["lease_expires_at"] = now + timedelta(seconds=lease_seconds())
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


def job_succeed(*, job: WorkerJob, result: dict[str, Any] | None = None, attempt: int | None = None) -> WorkerJob:
    """Record the result. With `attempt` (job_run passes the one it claimed) the write lands only while
    that attempt still owns the job: a worker whose lease lapsed and whose job another attempt took must
    not overwrite that attempt's state with its own late outcome."""
    now = timezone.now()
    fields: dict[str, Any] = {"status": WorkerJob.Status.SUCCEEDED, "result": result or {}, "last_error": "",
                              "finished_at": now, "lease_expires_at": None, "stalled_at": None, "updated_at": now}
    if job.progress_total is not None:
        fields["progress_done"] = job.progress_total
    return _job_finish(job=job, fields=fields, attempt=attempt)


def job_fail(*, job: WorkerJob, error: str, retryable: bool = True, attempt: int | None = None) -> WorkerJob:
    """Record a failed attempt; past max_attempts (or when it cannot recover) the job is dead. `attempt`
    as for job_succeed."""
    job.refresh_from_db(fields=["attempts", "max_attempts"])
    dead = not retryable or job.attempts >= job.max_attempts
    now = timezone.now()
    fields = {"status": WorkerJob.Status.DEAD if dead else WorkerJob.Status.FAILED, "last_error": error[:4000],
              "finished_at": now if dead else None, "updated_at": now,
              # a retry is Celery's (its countdown), not the sweeper's
              "lease_expires_at": None, "stalled_at": None}
    return _job_finish(job=job, fields=fields, attempt=attempt)


def _job_finish(*, job: WorkerJob, fields: dict[str, Any], attempt: int | None) -> WorkerJob:
    rows = WorkerJob.objects.filter(merchant_id=job.merchant_id, pk=job.pk)
    if attempt is not None:
        rows = rows.filter(status=WorkerJob.Status.RUNNING, attempts=attempt)
    with transaction.atomic():
        written = rows.update(**fields)
    if not written:
        logger.warning("jobs.job.superseded", extra={"job_id": job.pk, "attempt": attempt,
                                                     "outcome": fields["status"]})
        job.refresh_from_db()
        return job
    for name, value in fields.items():
        setattr(job, name, value)
    return job


# ---------------------------------------------------------------- running a job


class JobStopped(Exception):  # noqa: N818 - a flow signal of job bodies, not an error of ours
    """Raised by a job body to end this attempt with a recorded failure instead of a result.

    `outcome` is what the task returns; with `retryable` the job may run again (FAILED until
    max_attempts, then DEAD) and the exception this one was raised from is re-raised, so the task's
    own retry policy (TenantTask.retry_for) schedules the next attempt.
    """

    def __init__(self, error: str, *, outcome: str = "failed", retryable: bool = False):
        self.error, self.outcome, self.retryable = error, outcome, retryable
        super().__init__(error)


class JobRun:
    """What a running body sees: its job, and progress (which renews the lease)."""

    def __init__(self, job: WorkerJob):
        self.job = job

    def progress(self, done: int, total: int | None = None) -> None:
        job_progress(job=self.job, done=done, total=total)


def job_run(*, merchant: Merchant, job_id: int, body: Callable[[JobRun], dict[str, Any]],
            kind: str | None = None) -> str:
    """Run one attempt of a job: the one place that owns start, progress, lease, failure and the
    terminal states, for every job body (imports, bulk actions, connect and "sync now").

    Returns "missing" (no such job), "already-done" (succeeded or dead), "running" (another worker
    holds a live lease), or the body's outcome: "ok" after `body(run)` returned the result, the
    `JobStopped.outcome` it raised, or "failed" after an unexpected exception (recorded as the job's
    last error, the job dead: nothing of ours can tell whether running it again is safe).
    """
    job = _job_claim(merchant=merchant, job_id=job_id, kind=kind)
    if isinstance(job, str):
        return job
    run, attempt = JobRun(job), job.attempts
    with _lease_kept(job):
        try:
            result = body(run)
        except JobStopped as exc:
            job_fail(job=job, error=exc.error, retryable=exc.retryable, attempt=attempt)
            if exc.retryable and exc.__cause__ is not None:
                raise exc.__cause__ from None
            return exc.outcome
        except Exception as exc:  # noqa: BLE001 - recorded on the job instead of leaving it "running"
            logger.exception("jobs.job.crashed", extra={"merchant_id": merchant.pk, "job_id": job.pk,
                                                        "kind": job.kind})
            job_fail(job=job, error=getattr(exc, "message", None) or repr(exc), retryable=False, attempt=attempt)
            return "failed"
    job_succeed(job=job, result=result, attempt=attempt)
    return "ok"


def _job_claim(*, merchant: Merchant, job_id: int, kind: str | None) -> WorkerJob | str:
    """Take the job for this attempt, or say why not: one conditional UPDATE, so two deliveries of
    the same task (a re-send racing the original) never run it twice at once."""
    jobs = WorkerJob.objects.filter(merchant=merchant, pk=job_id)
    if kind is not None:
        jobs = jobs.filter(kind=kind)
    job = jobs.order_by().first()
    if job is None:
        return "missing"
    if job.status in (WorkerJob.Status.SUCCEEDED, WorkerJob.Status.DEAD):
        return "already-done"
    now = timezone.now()
    # A running job is free once its lease lapsed, or once the sweeper marked it stalled: the sweeper moves
    # the lease ahead when it sends the task again (so the next sweep leaves it alone), and that re-sent
    # task is the one meant to take it.
    free = Q(status__in=(WorkerJob.Status.QUEUED, WorkerJob.Status.FAILED)) | Q(
        status=WorkerJob.Status.RUNNING, lease_expires_at__lte=now) | Q(
        status=WorkerJob.Status.RUNNING, lease_expires_at__isnull=True) | Q(
        status=WorkerJob.Status.RUNNING, stalled_at__isnull=False)
    claimed = WorkerJob.objects.filter(free, merchant=merchant, pk=job.pk).update(
        status=WorkerJob.Status.RUNNING, attempts=F("attempts") + 1, started_at=now, updated_at=now,
        stalled_at=None, lease_expires_at=now + timedelta(seconds=lease_seconds()))
    if not claimed:
        return "running"
    job.refresh_from_db()
    return job


@contextmanager
def _lease_kept(job: WorkerJob) -> Iterator[None]:
    """Renew the running job's lease every third of it while the body runs, from a thread, so a
    body that is alive but quiet (a long HTTP back-off) keeps its job; a killed worker stops
    renewing and the sweeper takes over once the lease lapses."""
    stop = threading.Event()
    attempt = job.attempts

    def renew() -> None:
        try:
            while not stop.wait(lease_seconds() / 3):
                with tenant_scope(job.merchant_id):
                    WorkerJob.objects.filter(pk=job.pk, status=WorkerJob.Status.RUNNING, attempts=attempt).update(
                        lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds()))
        except Exception:  # noqa: BLE001 - a missed renewal only risks a second attempt, never a crash
            logger.warning("jobs.lease.renew_failed", extra={"job_id": job.pk}, exc_info=True)
        finally:
            connections.close_all()

    beat = threading.Thread(target=renew, name=f"job-lease-{job.pk}", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()


# ---------------------------------------------------------------- the sweeper


def jobs_sweep(*, limit: int = 200, now: datetime | None = None) -> dict[str, int]:
    """Beat: send again every job whose task was lost.

    A queued job whose dispatch lease passed was never started (the send after commit failed: the
    broker was down, or the message was lost); a running job whose lease lapsed lost its worker
    (killed: the broker would redeliver only after its hour-long visibility timeout). Each is sent
    again with a new lease; a running one is marked stalled ("Stalled, retrying"), or dead when it
    has used its attempts. Returns how many were re-sent and how many died.
    """
    now = now or timezone.now()
    lease = timedelta(seconds=lease_seconds())
    with unscoped("job sweeper: every merchant's lost jobs"):
        base = WorkerJob.objects.exclude(task_name="").filter(lease_expires_at__isnull=False,
                                                              merchant__is_active=True)
        queued = claim_due(base.filter(status=WorkerJob.Status.QUEUED), limit=limit, due_field="lease_expires_at",
                           lease=lease, now=now)
        stalled = claim_due(base.filter(status=WorkerJob.Status.RUNNING), limit=limit,
                            due_field="lease_expires_at", lease=lease, now=now, updates={"stalled_at": now})
        dead = 0
        for job in stalled:
            if job.attempts >= job.max_attempts:
                job_fail(job=job, error=job.last_error or f"The worker was lost during attempt {job.attempts}.",
                         retryable=False)
                dead += 1
        resend = [j for j in [*queued, *stalled] if j.status != WorkerJob.Status.DEAD]
    for job in resend:
        enqueue_on_commit(job.task_name, merchant_id=job.merchant_id, **job.task_kwargs)  # no transaction: sent now
    if resend or dead:
        logger.info("jobs.sweep", extra={"resent": len(resend), "dead": dead})
    return {"resent": len(resend), "dead": dead}
