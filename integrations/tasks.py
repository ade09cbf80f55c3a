"""Integrations tasks: ids in, the merchant's scope entered by TenantTask, one service called.

The sync engine replaces the bodies of the connect and sync tasks (listings, webhooks, backfill,
incremental poll); until then both run the connection test, so a connect or "sync now" started from
the API or `make run` runs to an honest end instead of failing to find its task.
"""

from __future__ import annotations

from celery import shared_task

from accounts.models import Merchant
from accounts.tasks import TenantTask


@shared_task(base=TenantTask, name="integrations.integration_connect", max_retries=0)
def integration_connect_task(*, merchant: Merchant, integration_id: int, job_id: int) -> str:
    from integrations.services import integration_connection_job_run

    return integration_connection_job_run(merchant=merchant, integration_id=integration_id, job_id=job_id)


@shared_task(base=TenantTask, name="integrations.integration_sync", max_retries=0)
def integration_sync_task(*, merchant: Merchant, integration_id: int, job_id: int) -> str:
    from integrations.services import integration_connection_job_run

    return integration_connection_job_run(merchant=merchant, integration_id=integration_id, job_id=job_id)
