"""Jobs survive a lost send and a killed worker: the task is remembered on the WorkerJob, the running task
renews a lease, and the sweeper (jobs.jobs_sweep) sends again what was never started or whose lease lapsed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import shared_task
from django.utils import timezone

from accounts.models import Merchant
from accounts.tasks import TenantTask
from accounts.tenancy import tenant_scope, unscoped
from config.celery import app
from jobs import services
from jobs.models import WorkerJob
from tests.integrations.helpers import make_integration

CLOSED_PORT = "redis://127.0.0.1:9/0"  # the discard port: nothing listens, the connection is refused
SENT: list[dict] = []


@shared_task(base=TenantTask, name="tests.jobs_probe")
def jobs_probe(*, merchant: Merchant, job_id: int, note: str) -> str:
    """Records what it was sent, and leaves the job as it is (a worker that never gets to run it)."""
    SENT.append({"merchant_id": merchant.pk, "job_id": job_id, "note": note})
    return "seen"


@pytest.fixture
def broker_down():
    """The broker at a closed port, tasks sent instead of run in-process (as in production)."""
    saved = (app.conf.broker_url, app.conf.task_always_eager, app._pool)
    app.conf.broker_url, app.conf.task_always_eager, app._pool = CLOSED_PORT, False, None
    app.conf.broker_connection_retry = False
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app.conf.broker_url, app.conf.task_always_eager, app._pool = saved


@pytest.fixture(autouse=True)
def _no_sent():
    SENT.clear()


@pytest.mark.django_db(transaction=True)
def test_sync_now_with_the_broker_down_answers_202_and_the_sweeper_sends_the_job_again(merchant_a, broker_down):
    # Given: a connected store, and Redis (the broker) refusing connections
    with tenant_scope(merchant_a.merchant):
        store = make_integration(merchant_a.merchant)
    # When: the merchant asks for "sync now"
    response = merchant_a.api.post(f"/api/v1/integrations/{store.pk}/sync/")
    # Then: 202 with the job, which is committed, queued and remembers its task
    assert response.status_code == 202, response.content
    with unscoped("test reads the job"):
        job = WorkerJob.objects.get(pk=response.json()["job"])
    assert (job.status, job.task_name, job.task_kwargs) == (
        "queued", "integrations.integration_sync", {"integration_id": store.pk, "job_id": job.pk})
    # When: the sweeper runs before the job's dispatch lease passed, then after it
    early = services.jobs_sweep(now=job.lease_expires_at - timedelta(seconds=1))
    late = services.jobs_sweep(now=job.lease_expires_at + timedelta(seconds=1))
    # Then: only the late run sends it again (still failing here: the broker is down), with a new lease
    assert (early, late) == ({"resent": 0, "dead": 0}, {"resent": 1, "dead": 0})
    with unscoped("test reads the job"):
        again = WorkerJob.objects.get(pk=job.pk)
    assert again.status == "queued" and again.lease_expires_at > job.lease_expires_at


@pytest.mark.django_db
def test_a_queued_job_never_started_is_sent_again_with_its_arguments(merchant_a, merchant_b,
                                                                    django_capture_on_commit_callbacks):
    # Given: a job whose task was sent while nobody read the broker (the send is lost)
    with tenant_scope(merchant_a.merchant):
        job = services.job_create(merchant=merchant_a.merchant, kind="tests.probe", task_name="tests.jobs_probe",
                                  task_kwargs={"note": "hello"})
    with tenant_scope(merchant_b.merchant):
        services.job_create(merchant=merchant_b.merchant, kind="tests.probe")  # no task: nothing to sweep
    # When: the sweeper runs once the dispatch lease has passed (tasks run in-process here)
    with django_capture_on_commit_callbacks(execute=True):
        result = services.jobs_sweep(now=job.lease_expires_at + timedelta(seconds=1))
    # Then: the task is sent again, in the job's merchant, with what it was first sent
    assert result == {"resent": 1, "dead": 0}
    assert SENT == [{"merchant_id": merchant_a.merchant.pk, "job_id": job.pk, "note": "hello"}]


@pytest.mark.django_db
def test_a_running_job_whose_lease_lapsed_is_stalled_retrying_then_dead_after_its_attempts(
        merchant_a, django_capture_on_commit_callbacks):
    # Given: a job started by a worker that was then killed (it never renewed its lease)
    with tenant_scope(merchant_a.merchant):
        job = services.job_create(merchant=merchant_a.merchant, kind="tests.probe", task_name="tests.jobs_probe",
                                  task_kwargs={"note": "x"}, max_attempts=2, description="Probe")
        job = services.job_start(job=job)
    lapsed = job.lease_expires_at + timedelta(seconds=1)
    # When: the sweeper runs after the lease lapsed
    with django_capture_on_commit_callbacks(execute=True):
        first = services.jobs_sweep(now=lapsed)
    # Then: the task is sent again and the job page says "Stalled, retrying"
    assert first == {"resent": 1, "dead": 0} and len(SENT) == 1
    with tenant_scope(merchant_a.merchant):
        stalled = WorkerJob.objects.get(pk=job.pk)
    assert (stalled.status, stalled.stalled_at, stalled.status_label) == ("running", lapsed, "Stalled, retrying")
    page = merchant_a.web.get(f"/jobs/{job.pk}/").content.decode()
    assert "Stalled, retrying" in page
    assert "Stalled, retrying" in merchant_a.web.get("/jobs/").content.decode()
    api = merchant_a.api.get(f"/api/v1/jobs/{job.pk}/").json()
    assert (api["status"], api["is_stalled"]) == ("running", True)
    # When: the second attempt starts, renews its lease by progress, and is killed too
    with tenant_scope(merchant_a.merchant):
        second = services.job_start(job=stalled)
        renewed_from = second.lease_expires_at
        services.job_progress(job=second, done=1)
        second.refresh_from_db()
    assert second.stalled_at is None and second.lease_expires_at >= renewed_from and second.attempts == 2
    # Then: a sweep inside the renewed lease leaves it alone; one after it finds its attempts used up
    assert services.jobs_sweep(now=second.lease_expires_at - timedelta(seconds=1)) == {"resent": 0, "dead": 0}
    assert services.jobs_sweep(now=second.lease_expires_at + timedelta(seconds=1)) == {"resent": 0, "dead": 1}
    with tenant_scope(merchant_a.merchant):
        dead = WorkerJob.objects.get(pk=job.pk)
    assert (dead.status, dead.last_error, dead.status_label) == ("dead", "The worker was lost during attempt 2.",
                                                                 "Dead")


@pytest.mark.django_db
def test_job_run_owns_the_terminal_states_and_a_live_lease_keeps_a_second_delivery_out(merchant_a):
    with tenant_scope(merchant_a.merchant):
        ok = services.job_create(merchant=merchant_a.merchant, kind="tests.run", total=3)
        crash = services.job_create(merchant=merchant_a.merchant, kind="tests.run")
        busy = services.job_create(merchant=merchant_a.merchant, kind="tests.run")
        services.job_start(job=busy)  # another worker holds it, lease live

        def count(run):
            run.progress(2)
            return {"counted": 3}

        def boom(run):
            raise RuntimeError("disk full")

        outcomes = [services.job_run(merchant=merchant_a.merchant, job_id=j.pk, body=b)
                    for j, b in ((ok, count), (crash, boom), (busy, count), (ok, count))]
        rows = {j.pk: WorkerJob.objects.get(pk=j.pk) for j in (ok, crash, busy)}
    assert outcomes == ["ok", "failed", "running", "already-done"]
    assert (rows[ok.pk].status, rows[ok.pk].result, rows[ok.pk].percent, rows[ok.pk].lease_expires_at) == (
        "succeeded", {"counted": 3}, 100, None)
    assert (rows[crash.pk].status, rows[crash.pk].last_error) == ("dead", "RuntimeError('disk full')")
    assert (rows[busy.pk].status, rows[busy.pk].attempts) == ("running", 1)
    assert timezone.now() < rows[busy.pk].lease_expires_at


@pytest.mark.django_db
def test_a_late_outcome_of_an_attempt_whose_lease_lapsed_never_overwrites_the_attempt_that_took_over(merchant_a):
    # Given: a job whose first worker is so slow that its lease lapses and a second delivery takes the job
    with tenant_scope(merchant_a.merchant):
        job = services.job_create(merchant=merchant_a.merchant, kind="tests.run")
        inner: list[str] = []

        def second(run):
            return {"by": "second attempt"}

        def first(run):
            WorkerJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
            inner.append(services.job_run(merchant=merchant_a.merchant, job_id=job.pk, body=second))
            return {"by": "first attempt"}

        # When: the first attempt finishes after the second one did, then a crash reports late as well
        outcome = services.job_run(merchant=merchant_a.merchant, job_id=job.pk, body=first)
        row = WorkerJob.objects.get(pk=job.pk)
        late_fail = services.job_fail(job=row, error="worker 1 timed out", retryable=False, attempt=1)
    # Then: the second attempt's result stands, untouched by the first's success or its failure
    assert (inner, outcome) == (["ok"], "ok")
    assert (row.status, row.result, row.attempts) == ("succeeded", {"by": "second attempt"}, 2)
    assert (late_fail.status, late_fail.last_error, late_fail.result) == ("succeeded", "", {"by": "second attempt"})


@pytest.mark.django_db
def test_the_task_the_sweeper_sends_again_for_a_stalled_job_runs_it(merchant_a, django_capture_on_commit_callbacks):
    # Given: a job whose first worker was killed after starting it (its lease lapsed unrenewed)
    with tenant_scope(merchant_a.merchant):
        job = services.job_create(merchant=merchant_a.merchant, kind="tests.probe", task_name="tests.jobs_probe",
                                  task_kwargs={"note": "x"}, max_attempts=3)
        job = services.job_start(job=job)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.jobs_sweep(now=job.lease_expires_at + timedelta(seconds=1)) == {"resent": 1, "dead": 0}
    # When: the task sent again reaches a worker (the sweeper gave the job a new lease meanwhile)
    with tenant_scope(merchant_a.merchant):
        outcome = services.job_run(merchant=merchant_a.merchant, job_id=job.pk, body=lambda run: {"done": True})
        row = WorkerJob.objects.get(pk=job.pk)
    # Then: it runs the job as its second attempt, instead of taking the sweeper's lease for a live worker's
    assert outcome == "ok"
    assert (row.status, row.attempts, row.result, row.stalled_at) == ("succeeded", 2, {"done": True}, None)
    # and a second delivery of the same re-send finds it done
    with tenant_scope(merchant_a.merchant):
        assert services.job_run(merchant=merchant_a.merchant, job_id=job.pk, body=lambda run: {}) == "already-done"
