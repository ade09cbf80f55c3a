from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Merchant
from core.errors import NotFound
from jobs.models import WorkerJob


def job_list(*, merchant: Merchant, status: str | None = None, kind: str | None = None) -> QuerySet[WorkerJob]:
    qs = WorkerJob.objects.filter(merchant=merchant).order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def job_get(*, merchant: Merchant, pk: int) -> WorkerJob:
    job = WorkerJob.objects.filter(merchant=merchant, pk=pk).first()
    if job is None:
        raise NotFound("No such job.")
    return job


FAILED_RECENTLY = timedelta(days=7)


def job_counts(*, merchant: Merchant) -> dict[str, int]:
    """{"running": queued or running now, "failed": failed or dead in the last week}, in one query: what the
    home page tells a merchant about background work (older failures stay on the jobs page)."""
    since = timezone.now() - FAILED_RECENTLY
    return WorkerJob.objects.filter(merchant=merchant).order_by().aggregate(
        running=Count("pk", filter=Q(status__in=[WorkerJob.Status.QUEUED, WorkerJob.Status.RUNNING])),
        failed=Count("pk", filter=Q(status__in=[WorkerJob.Status.FAILED, WorkerJob.Status.DEAD],
                                    updated_at__gte=since)),
    )
