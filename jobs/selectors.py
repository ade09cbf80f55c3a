from __future__ import annotations

from django.db.models import QuerySet

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
