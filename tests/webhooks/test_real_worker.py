"""The production path with a real Celery worker *process* (Redis broker, PostgreSQL): a delivery
through the public URL whose enqueue was lost, and a worker SIGKILLed in the middle of an event. In
both, the dispatcher (beat's job, run here by the test) finds the row and the effect happens once."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.tenancy import tenant_scope, unscoped
from orders.models import Order, OrderEvent, OrderLine
from tests.fakes.shopify.webhooks import webhook_request
from tests.webhooks.conftest import SECRET, SHOP, new_event_id, order_body, url_for
from tests.worker_process import KOMBU_KEYS, wait_until, worker_start
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_dispatch

WAIT = 60.0


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
    worker = worker_start(log)
    try:
        # 1. The web process "dies" between its commit and the enqueue: the row is there, no task was sent.
        with monkeypatch.context() as lost:
            lost.setattr("webhooks.services.webhook_event_enqueue", lambda event: None)
            assert _send(live_server, shop_a, "orders/create", order_body(quantity=2)) == 200
        created = _event(merchant, "orders/create")
        assert created.status == WebhookEvent.Status.RECEIVED
        assert webhook_events_dispatch(now=created.next_attempt_at + timedelta(seconds=1)) == 1
        wait_until(lambda: _event(merchant, "orders/create").status == WebhookEvent.Status.PROCESSED, "the lost event", log)

        # 2. A worker SIGKILLed mid-event: the handler blocks on the order's row lock, held here (NO KEY
        #    UPDATE: order_ingest's FOR UPDATE waits for it, the new-order email's timeline entry does not).
        with unscoped("test"):
            order = Order.objects.get(merchant=merchant)
        with transaction.atomic(), tenant_scope(merchant):
            assert Order.objects.select_for_update(no_key=True).filter(pk=order.pk).exists()
            assert _send(live_server, shop_a, "orders/updated",
                         order_body(quantity=5, updated_at="2026-03-02T11:00:00-05:00")) == 200
            wait_until(lambda: getattr(_event(merchant, "orders/updated"), "status", None) == WebhookEvent.Status.PROCESSING,
                  "the worker to take the update", log)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=WAIT)
        updated = _event(merchant, "orders/updated")
        assert (updated.status, updated.attempts) == (WebhookEvent.Status.PROCESSING, 1)  # the attempt was counted
        assert webhook_events_dispatch() == 0  # within its lease it might still be running somewhere

        worker = worker_start(log)
        assert webhook_events_dispatch(now=timezone.now() + timedelta(
            seconds=settings.WEBHOOK_PROCESSING_LEASE_SECONDS + 1)) == 1
        wait_until(lambda: _event(merchant, "orders/updated").status == WebhookEvent.Status.PROCESSED, "the re-run", log)
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
