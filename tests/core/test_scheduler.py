"""`make run` runs the beat schedule in-process (core.scheduler): every periodic task production's beat
runs is due at start-up and then every interval, driven here by a given clock, never by waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import current_app
from django.conf import settings
from django.core.management import get_commands

from accounts.tenancy import tenant_scope, unscoped
from core.scheduler import InProcessBeat
from jobs import services
from jobs.models import WorkerJob
from tests.jobs.test_sweeper import SENT


def test_every_periodic_task_is_due_at_start_then_every_interval():
    # Given: the schedule production's beat runs (settings plus what apps merge in), and a recorder in
    # place of running tasks
    schedule = current_app.conf.beat_schedule
    sent: list[str] = []
    beat = InProcessBeat(schedule, now=1000.0, send=lambda name, a, k: sent.append(name))
    # When: the clock reads start-up, then 30 s later, then 60 s after start-up
    at_start = beat.tick(1000.0)
    tasks_at_start = sorted(sent)
    after_30 = beat.tick(1030.0)
    after_60 = beat.tick(1060.0)
    # Then: everything ran at start-up (polls, tracking and stock pushes, allocation, webhook dispatch, job
    # sweep...); at 30 s the 30 s entries; at 60 s the minute entries and the 30 s ones again
    assert tasks_at_start == sorted(e["task"] for e in schedule.values())
    assert {"integrations.integration_poll_fanout", "integrations.tracking_push_fanout",
            "orders.short_orders_allocate_fanout", "webhooks.events_dispatch", "jobs.jobs_sweep"} <= set(tasks_at_start)
    assert sorted(at_start) == sorted(schedule)
    assert after_30 == sorted(n for n, e in schedule.items() if e["schedule"] <= 30)
    assert after_60 == sorted(n for n, e in schedule.items() if e["schedule"] <= 60)
    assert beat.tick(1060.5) == []


def test_a_failing_task_is_logged_and_the_others_still_run():
    def send(name, args, kwargs):
        if name == "a.boom":
            raise RuntimeError("down")
        ran.append(name)

    ran: list[str] = []
    beat = InProcessBeat({"boom": {"task": "a.boom", "schedule": 10}, "fine": {"task": "a.fine", "schedule": 10.0},
                          "cron": {"task": "a.cron", "schedule": object()}}, now=0, send=send)
    assert beat.tick(0) == ["boom", "fine"]
    assert ran == ["a.fine"]


@pytest.mark.django_db
def test_a_due_periodic_task_really_runs_in_process(merchant_a, django_capture_on_commit_callbacks):
    # Given: a job whose send was lost long ago, and the real schedule with real (eager) task execution
    with tenant_scope(merchant_a.merchant):
        job = services.job_create(merchant=merchant_a.merchant, kind="tests.probe", task_name="tests.jobs_probe",
                                  task_kwargs={"note": "from beat"})
    with unscoped("test ages the job"):
        WorkerJob.objects.filter(pk=job.pk).update(lease_expires_at=job.lease_expires_at - timedelta(hours=1))
    SENT.clear()
    beat = InProcessBeat({"jobs.jobs_sweep": settings.CELERY_BEAT_SCHEDULE["jobs.jobs_sweep"]}, now=0)
    # When: the scheduler ticks
    with django_capture_on_commit_callbacks(execute=True):
        ran = beat.tick(0)
    # Then: the sweeper ran and sent the job's task again
    assert ran == ["jobs.jobs_sweep"]
    assert SENT == [{"merchant_id": merchant_a.merchant.pk, "job_id": job.pk, "note": "from beat"}]


def test_make_run_serves_with_the_in_process_beat():
    with open(settings.BASE_DIR / "Makefile") as f:
        makefile = f.read()
    assert "manage.py runserver_beat 127.0.0.1:8000" in makefile
    assert get_commands()["runserver_beat"] == "core"
