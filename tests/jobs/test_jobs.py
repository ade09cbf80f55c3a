from __future__ import annotations

import pytest
from celery import shared_task

from accounts.tasks import TenantTask
from accounts.tenancy import current_merchant_id, tenant_scope, unscoped
from core.enqueue import enqueue_on_commit
from jobs import services
from jobs.models import WorkerJob


@shared_task(base=TenantTask, name="tests.count_jobs_in_scope")
def count_jobs_in_scope(*, merchant, job_id: int) -> dict:
    """A probe task: what does a task see once TenantTask has entered its scope?"""
    job = WorkerJob.objects.get(pk=job_id)
    services.job_start(job=job)
    seen = WorkerJob.objects.count()
    services.job_succeed(job=job, result={"scope": current_merchant_id(), "seen": seen})
    return {"scope": current_merchant_id(), "seen": seen}


@pytest.mark.django_db
def test_task_called_from_outside_any_scope_enters_its_merchants_scope(merchant_a, merchant_b):
    with tenant_scope(merchant_b.merchant):
        services.job_create(merchant=merchant_b.merchant, kind="tests.other")
    with tenant_scope(merchant_a.merchant):
        job = services.job_create(merchant=merchant_a.merchant, kind="tests.probe", total=1)

    result = count_jobs_in_scope.apply(kwargs={"merchant_id": merchant_a.merchant.pk, "job_id": job.pk}).get()

    assert result == {"scope": merchant_a.merchant.pk, "seen": 1}


def test_task_without_merchant_id_refuses_to_run():
    with pytest.raises(TypeError, match="merchant_id"):
        count_jobs_in_scope.apply(kwargs={"job_id": 1}).get()


@pytest.mark.django_db
def test_another_merchants_job_id_is_invisible_to_the_task(merchant_a, merchant_b):
    with tenant_scope(merchant_b.merchant):
        theirs = services.job_create(merchant=merchant_b.merchant, kind="tests.other")

    with pytest.raises(WorkerJob.DoesNotExist):
        count_jobs_in_scope.apply(kwargs={"merchant_id": merchant_a.merchant.pk, "job_id": theirs.pk}).get()


@pytest.mark.django_db
def test_job_life_cycle_retries_then_dies(scope_a):
    job = services.job_create(merchant=scope_a.merchant, kind="tests.flaky", total=10, max_attempts=2)

    services.job_start(job=job)
    services.job_progress(job=job, done=4)
    services.job_fail(job=job, error="connection reset")
    first = WorkerJob.objects.get(pk=job.pk)
    services.job_start(job=job)
    services.job_fail(job=job, error="connection reset again")
    second = WorkerJob.objects.get(pk=job.pk)

    assert (first.status, first.attempts, first.progress_done, first.percent) == ("failed", 1, 4, 40)
    assert (second.status, second.attempts, second.last_error) == ("dead", 2, "connection reset again")
    assert second.finished_at is not None


@pytest.mark.django_db
def test_jobs_api_and_page_show_progress_and_errors(merchant_a, merchant_b):
    with tenant_scope(merchant_a.merchant):
        job = services.job_create(merchant=merchant_a.merchant, kind="inventory.stock_import",
                                  description="Import stock.csv", total=200)
        services.job_start(job=job)
        services.job_progress(job=job, done=50)
        services.job_fail(job=job, error="row 7: unknown SKU", retryable=False)

    api = merchant_a.api.get("/api/v1/jobs/?status=dead").json()["results"]
    page = merchant_a.web.get("/jobs/").content.decode()
    detail = merchant_a.web.get(f"/jobs/{job.pk}/")
    theirs = merchant_b.web.get(f"/jobs/{job.pk}/")

    assert [(j["id"], j["status"], j["progress_done"], j["progress_total"], j["percent"], j["last_error"])
            for j in api] == [(job.pk, "dead", 50, 200, 25, "row 7: unknown SKU")]
    assert "Import stock.csv" in page and "row 7: unknown SKU" in page and '<progress class="progress" max="100" value="25"' in page
    assert detail.status_code == 200
    assert theirs.status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
@pytest.mark.postgres
def test_a_real_worker_runs_tenant_tasks_sent_after_commit(merchant_a, settings, client):
    """Redis broker, a real Celery worker thread, PostgreSQL: the production path."""
    from celery.contrib.testing.worker import start_worker
    from django.db import transaction

    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = settings.REDIS_URL
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            with tenant_scope(merchant_a.merchant), transaction.atomic():
                job = services.job_create(merchant=merchant_a.merchant, kind="tests.probe", total=1)
                enqueue_on_commit("tests.count_jobs_in_scope", merchant_id=merchant_a.merchant.pk, job_id=job.pk)
            ready = client.get("/readyz")
            import time

            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with unscoped("test poll"):
                    job.refresh_from_db()
                if job.status == WorkerJob.Status.SUCCEEDED:
                    break
                time.sleep(0.1)
    finally:
        app.conf.task_always_eager = True

    assert job.status == WorkerJob.Status.SUCCEEDED
    assert job.result == {"scope": merchant_a.merchant.pk, "seen": 1}
    assert ready.status_code == 200, ready.content
    assert ready.json()["checks"]["celery"]["status"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_enqueue_on_commit_by_name_runs_in_process_when_eager(merchant_a):
    from django.db import transaction

    with tenant_scope(merchant_a.merchant):
        job = services.job_create(merchant=merchant_a.merchant, kind="tests.probe", total=1)
    with transaction.atomic():
        enqueue_on_commit("tests.count_jobs_in_scope", merchant_id=merchant_a.merchant.pk, job_id=job.pk)
        with unscoped("test read"):
            assert WorkerJob.objects.get(pk=job.pk).status == WorkerJob.Status.QUEUED  # not before commit

    with unscoped("test read"):
        assert WorkerJob.objects.get(pk=job.pk).status == WorkerJob.Status.SUCCEEDED


def _seen_by_another_connection(job_pk: int, other_pk: int | None = None) -> dict:
    """What the dashboard (any other connection) reads right now."""
    import threading

    from django.db import connection

    seen: dict = {}

    def read() -> None:
        try:
            with unscoped("test: another connection reads"):
                row = WorkerJob.objects.get(pk=job_pk)
                seen.update(status=row.status, done=row.progress_done, total=row.progress_total,
                            other_visible=WorkerJob.objects.filter(pk=other_pk).exists() if other_pk else None)
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join(timeout=20)
    return seen


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_progress_is_seen_by_others_while_the_jobs_transaction_is_still_open(merchant_a):
    from django.db import transaction

    m = merchant_a.merchant
    with tenant_scope(m):
        job = services.job_create(merchant=m, kind="inventory.stock_import", total=100)

    with pytest.raises(RuntimeError), tenant_scope(m), transaction.atomic():
        # given a job doing its work inside one long transaction
        services.job_start(job=job)
        inside = services.job_create(merchant=m, kind="tests.written_in_the_transaction")
        # when it reports progress
        services.job_progress(job=job, done=40)
        # then another connection sees the progress, though not the transaction's own writes
        during = _seen_by_another_connection(job.pk, inside.pk)
        raise RuntimeError("the job's transaction rolls back")

    assert during == {"status": "running", "done": 40, "total": 100, "other_visible": False}
    # and progress stays what was reported, even though the work rolled back
    after = _seen_by_another_connection(job.pk, inside.pk)
    assert after == {"status": "running", "done": 40, "total": 100, "other_visible": False}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_a_job_created_in_the_open_transaction_keeps_its_progress(merchant_a):
    from django.db import transaction

    m = merchant_a.merchant
    with tenant_scope(m), transaction.atomic():
        job = services.job_create(merchant=m, kind="tests.young", total=10)
        services.job_start(job=job)
        services.job_progress(job=job, done=3)

    assert _seen_by_another_connection(job.pk) == {"status": "running", "done": 3, "total": 10, "other_visible": None}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_a_job_row_its_own_transaction_locked_gets_progress_without_hanging(merchant_a):
    import time

    from django.db import transaction

    m = merchant_a.merchant
    with tenant_scope(m):
        job = services.job_create(merchant=m, kind="tests.locked", total=10)
    started = time.monotonic()
    with tenant_scope(m), transaction.atomic():
        WorkerJob.objects.select_for_update().get(pk=job.pk)
        services.job_progress(job=job, done=7)

    assert time.monotonic() - started < 10
    assert _seen_by_another_connection(job.pk)["done"] == 7
