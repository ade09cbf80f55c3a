"""Scrape-time gauges for background jobs (core.metrics.gauge_sources)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone
from prometheus_client.core import Metric

from accounts.tenancy import unscoped
from core.metrics import gauge
from jobs.models import WorkerJob

RECENT = timedelta(hours=24)


def job_gauges() -> Iterable[Metric]:
    """Queued and running jobs now, and those that ended in the last day (older ones would only grow)."""
    current = Q(status__in=[WorkerJob.Status.QUEUED, WorkerJob.Status.RUNNING]) | Q(
        finished_at__gte=timezone.now() - RECENT)
    with unscoped("metrics: jobs of every merchant"):
        rows = list(WorkerJob.objects.filter(current).values_list("kind", "status").annotate(n=Count("id"))
                    .order_by())
    return [gauge("switchboard_jobs", "Jobs by kind and status: queued and running now, the others if they "
                  "ended in the last 24 hours.", ["kind", "status"],
                  [((kind, status), n) for kind, status, n in rows])]
