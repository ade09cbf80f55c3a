"""The webhook dispatcher (WEBHOOK_DISPATCH=dispatcher): the request stores the row and publishes nothing; the
INSERT's NOTIFY wakes `manage.py webhook_dispatcher`, which hands due events to the workers. A delivery made
while no dispatcher runs, or while the broker is down, is processed once they are back; two dispatchers never
hand out one event twice."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.utils import timezone

from accounts.tenancy import tenant_scope, unscoped
from orders.models import Order, OrderLine
from tests.fakes.shopify.webhooks import webhook_request
from tests.webhooks.conftest import SECRET, SHOP, new_event_id, order_body, url_for
from tests.webhooks.helpers import make_event
from tests.worker_process import KOMBU_KEYS, ROOT, wait_until, worker_start, worker_stop
from webhooks.dispatcher import WebhookDispatcher
from webhooks.models import WebhookEvent

Status = WebhookEvent.Status
DEAD_BROKER = "redis://127.0.0.1:9/0"  # nothing listens on port 9


def _event(merchant, topic: str) -> WebhookEvent | None:
    with tenant_scope(merchant):
        return WebhookEvent.objects.filter(merchant=merchant, topic=topic).first()


def _send(live_server, integration, topic: str, body: dict) -> int:
    raw, headers = webhook_request(topic=topic, body=body, secret=SECRET, shop_domain=SHOP, event_id=new_event_id())
    return requests.post(live_server.url + url_for(integration), data=raw, headers=headers, timeout=30).status_code


def _dispatcher_start(log: Path, redis_url: str) -> subprocess.Popen:
    """`manage.py webhook_dispatcher` as production runs it, on the test's database and the given broker."""
    db = connection.settings_dict
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0", "WEBHOOK_DISPATCH": "dispatcher", "REDIS_URL": redis_url,
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "webhook_dispatcher", "--poll-seconds", "1"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    wait_until(lambda: "webhook dispatcher:" in log.read_text(errors="replace") or process.poll() is not None,
               "dispatcher start", log)
    assert process.poll() is None, log.read_text(errors="replace")[-3000:]
    return process


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_deliveries_made_while_the_dispatcher_or_the_broker_is_down_are_processed_when_they_come_back(
        merchant_a, shop_a, live_server, tmp_path, settings):
    import redis

    from config.celery import app

    settings.WEBHOOK_DISPATCH = "dispatcher"
    merchant = merchant_a.merchant
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete(*KOMBU_KEYS)
    eager, broker_url = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, settings.REDIS_URL
    log = tmp_path / "processes.log"
    worker = worker_start(log)
    dispatcher = None
    try:
        # 1. No dispatcher runs: the delivery is acknowledged, stored a dispatch lease ahead (its NOTIFY went to
        #    nobody), and nothing was published.
        assert _send(live_server, shop_a, "orders/create", order_body(quantity=2)) == 200
        created = _event(merchant, "orders/create")
        assert created.status == Status.RECEIVED and created.next_attempt_at > created.received_at
        assert broker.llen("celery") == 0
        # The dispatcher starts: what waits is handed out first thing, lease or not, and the worker processes it.
        dispatcher = _dispatcher_start(log, settings.REDIS_URL)
        wait_until(lambda: _event(merchant, "orders/create").status == Status.PROCESSED, "the waiting event", log)
        worker_stop(dispatcher)

        # 2. The broker is down for the dispatcher: the delivery is still acknowledged (the request needs no
        #    broker); the hand-over is refused and the row stays due a few seconds later, not lost.
        dispatcher = _dispatcher_start(log, DEAD_BROKER)
        assert _send(live_server, shop_a, "orders/updated",
                     order_body(quantity=5, updated_at="2026-03-02T11:00:00-05:00")) == 200
        wait_until(lambda: "core.enqueue.send_failed" in log.read_text(errors="replace"), "a refused hand-over", log)
        worker_stop(dispatcher)
        updated = _event(merchant, "orders/updated")
        assert (updated.status, updated.attempts) == (Status.RECEIVED, 0)
        assert updated.next_attempt_at > updated.received_at  # claimed, then put back due soon
        # The broker is back (a dispatcher that reaches it): the event is processed.
        dispatcher = _dispatcher_start(log, settings.REDIS_URL)
        wait_until(lambda: _event(merchant, "orders/updated").status == Status.PROCESSED, "the refused event", log)
    finally:
        app.conf.task_always_eager, app.conf.broker_url = eager, broker_url
        if dispatcher is not None:
            worker_stop(dispatcher)
        worker_stop(worker)
        broker.delete(*KOMBU_KEYS)

    assert _event(merchant, "orders/updated").result["action"] == "updated"
    with tenant_scope(merchant):
        assert Order.objects.count() == 1
        assert OrderLine.objects.get().quantity == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_wakes_on_the_inserts_notify_and_processes_the_delivery(merchant_a, shop_a, live_server,
                                                                                settings):
    """In-process (tasks eager): the dispatcher's hand-over runs the task in its own thread. Its idle poll is a
    minute long, so an event processed with a wake-up counted came through LISTEN/NOTIFY."""
    settings.WEBHOOK_DISPATCH = "dispatcher"
    merchant = merchant_a.merchant
    dispatcher = WebhookDispatcher(poll_seconds=60)
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: dispatcher.dispatched == 0 and thread.is_alive() and _listening(), "LISTEN")
        assert _send(live_server, shop_a, "orders/create", order_body(quantity=3)) == 200
        wait_until(lambda: getattr(_event(merchant, "orders/create"), "status", None) == Status.PROCESSED,
                   "the event processed by the dispatcher")
    finally:
        dispatcher.stop.set()
        thread.join(timeout=90)
    assert dispatcher.wakeups >= 1 and dispatcher.dispatched == 1
    with tenant_scope(merchant):
        assert OrderLine.objects.get().quantity == 3


def _listening() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND query = 'LISTEN webhook_events'")
        return cursor.fetchone()[0] >= 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_claiming_at_once_never_hand_out_one_event_twice(merchant_a, shop_a, monkeypatch):
    now = timezone.now()
    with tenant_scope(merchant_a.merchant):
        ids = {make_event(shop_a, status=Status.RECEIVED, next_attempt_at=now).pk for _ in range(240)}
    handed: list[int] = []
    lock = threading.Lock()

    def hand_over(task_name, **kwargs):
        with lock:
            handed.extend(kwargs["event_ids"])
        return True

    monkeypatch.setattr("webhooks.services.enqueue_now", hand_over)
    start = threading.Barrier(2)

    def dispatcher() -> None:
        from webhooks.services import webhook_events_dispatch

        start.wait()
        try:
            while webhook_events_dispatch(limit=7):
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(handed) == sorted(ids)  # every event once: none twice, none left behind
    with unscoped("test"):
        assert not WebhookEvent.objects.filter(next_attempt_at__lte=timezone.now()).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_dispatcher_listens_at_a_time_and_another_takes_over_when_it_ends():
    """The NOTIFYs name their events and the hand-over claims nothing: two listeners would both hand every event
    out. The session lock lets one listen; the other sweeps, and listens once the first one's connection ends."""
    first, second = WebhookDispatcher(), WebhookDispatcher()
    leader = first._listen()
    try:
        assert leader is not None
        assert second._listen() is None  # standby
    finally:
        leader.close()
    successor = second._listen()
    assert successor is not None
    successor.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_starting_on_more_waiting_events_than_a_batch_hands_each_out_once_and_finishes(
        merchant_a, shop_a, monkeypatch):
    """Events delivered while no dispatcher listened, more than one sweep's batch, each inserted a dispatch lease
    ahead as the receipt does: the start-up pass takes every one once, then stops (each call moving on, not
    taking the rows it just leased again)."""
    lease = timezone.timedelta(seconds=60)
    with tenant_scope(merchant_a.merchant):
        ids = {make_event(shop_a, status=Status.RECEIVED, next_attempt_at=timezone.now() + lease).pk
               for _ in range(25)}
    handed: list[int] = []
    monkeypatch.setattr("webhooks.services.enqueue_now",
                        lambda task_name, **kwargs: handed.extend(kwargs["event_ids"]) or True)
    dispatcher = WebhookDispatcher(batch=7)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (dispatcher.tick(waiting=True), done.set(), connection.close()))
    thread.start()
    thread.join(timeout=60)
    assert done.is_set(), "the start-up pass did not finish"
    assert sorted(handed) == sorted(ids)
