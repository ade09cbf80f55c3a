"""Beat work of the jobs app: the sweeper that sends lost jobs again."""

from __future__ import annotations

from celery import shared_task

from jobs.services import jobs_sweep


@shared_task(name="jobs.jobs_sweep")
def jobs_sweep_task() -> str:
    """Beat, every minute: jobs never started (lost send) or whose worker stopped renewing its lease."""
    result = jobs_sweep()
    return f"ok resent={result['resent']} dead={result['dead']}"
