"""The production path with a real Celery worker *process* (Redis broker, PostgreSQL): a delivery
through the public URL whose enqueue was lost, and a worker SIGKILLed in the middle of an event. In
both, the dispatcher (beat's job, run here by the test) finds the row and the effect happens once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.tenancy import tenant_scope, unscoped
from orders.models import Order, OrderEvent, OrderLine
from tests.fakes.shopify.webhooks import webhook_request
from tests.webhooks.conftest import SECRET, SHOP, new_event_id, order_body, url_for
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_dispatch

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0
KOMBU_KEYS = ("celery", "unacked", "unacked_index", "unacked_mutex")  # an upper bound on waiting for the worker, not a timing assertion


def _start_worker(log: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0", "REDIS_URL": settings.REDIS_URL,
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-mingle", "--without-gossip", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    _wait(lambda: "ready" in log.read_text(errors="replace") or process.poll() is not None, "worker start")
    assert process.poll() is None, log.read_text(errors="replace")[-3000:]
    return process


def _wait(condition, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-4000:] if log is not None else ""
    raise AssertionError(f"gave up waiting for {what}\n{tail}")


def _event(merchant, topic: str) -> WebhookEvent | None:
    with tenant_scope(merchant):
        return WebhookEvent.objects.filter(merchant=merchant, topic=topic).first()


def _send(live_server, integration, topic: str, body: dict) -> int:
    raw, headers = webhook_request(topic=topic, body=body, secret=SECRET, shop_domain=SHOP, event_id=new_event_id())
    return requests.post(live_server.url + url_for(integration), data=raw, headers=headers, timeout=30).status_code


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_lost_enqueue_and_killed_worker_are_recovered_by_the_dispatcher_with_one_effect(
        merchant_a, shop_a, live_server, tmp_path, monkeypatch):
    import redis

    from config.celery import app

    merchant = merchant_a.merchant
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete(*KOMBU_KEYS)  # no stale messages from an earlier run (only the queue's own keys)
    eager, broker_url = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, settings.REDIS_URL
    log = tmp_path / "worker.log"
    worker = _start_worker(log)
    try:
        # 1. The web process "dies" between its commit and the enqueue: the row is there, no task was sent.
        with monkeypatch.context() as lost:
            lost.setattr("webhooks.services.webhook_event_enqueue", lambda event: None)
            assert _send(live_server, shop_a, "orders/create", order_body(quantity=2)) == 200
        created = _event(merchant, "orders/create")
        assert created.status == WebhookEvent.Status.RECEIVED
        assert webhook_events_dispatch(now=created.next_attempt_at + timedelta(seconds=1)) == 1
        _wait(lambda: _event(merchant, "orders/create").status == WebhookEvent.Status.PROCESSED, "the lost event", log)

        # 2. A worker SIGKILLed mid-event: the handler blocks on the order's row lock, held here (NO KEY
        #    UPDATE: order_ingest's FOR UPDATE waits for it, the new-order email's timeline entry does not).
        with unscoped("test"):
            order = Order.objects.get(merchant=merchant)
        with transaction.atomic(), tenant_scope(merchant):
            assert Order.objects.select_for_update(no_key=True).filter(pk=order.pk).exists()
            assert _send(live_server, shop_a, "orders/updated",
                         order_body(quantity=5, updated_at="2026-03-02T11:00:00-05:00")) == 200
            _wait(lambda: getattr(_event(merchant, "orders/updated"), "status", None) == WebhookEvent.Status.PROCESSING,
                  "the worker to take the update", log)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=WAIT)
        updated = _event(merchant, "orders/updated")
        assert (updated.status, updated.attempts) == (WebhookEvent.Status.PROCESSING, 1)  # the attempt was counted
        assert webhook_events_dispatch() == 0  # within its lease it might still be running somewhere

        worker = _start_worker(log)
        assert webhook_events_dispatch(now=timezone.now() + timedelta(
            seconds=settings.WEBHOOK_PROCESSING_LEASE_SECONDS + 1)) == 1
        _wait(lambda: _event(merchant, "orders/updated").status == WebhookEvent.Status.PROCESSED, "the re-run", log)
    finally:
        app.conf.task_always_eager, app.conf.broker_url = eager, broker_url
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=WAIT)
        broker.delete(*KOMBU_KEYS)  # the killed worker's unacknowledged message would come back in an hour

    updated = _event(merchant, "orders/updated")
    assert (updated.attempts, updated.result["action"]) == (2, "updated")
    with tenant_scope(merchant):
        assert Order.objects.count() == 1
        assert OrderLine.objects.get().quantity == 5
        assert OrderEvent.objects.filter(kind=OrderEvent.Kind.RECEIVED).count() == 1
        assert OrderEvent.objects.filter(kind=OrderEvent.Kind.UPDATED).count() == 1  # the killed run left nothing
