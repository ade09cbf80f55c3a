"""The webhook dispatcher (WEBHOOK_DISPATCH=dispatcher): the request stores the row and publishes nothing;
`manage.py webhook_dispatcher` reads the new rows by id and hands them to the workers, a row committed out of
its id's order included. A delivery made while no dispatcher runs, or while the broker is down, is processed
once they are back; two dispatchers never hand out one event twice."""

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
from tests.webhooks.conftest import SECRET, SHOP, deliver, new_event_id, order_body, url_for
from tests.webhooks.helpers import make_event
from tests.worker_process import KOMBU_KEYS, ROOT, wait_until, worker_start, worker_stop
from webhooks.dispatcher import NewRows, WebhookDispatcher
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
        # 1. No dispatcher runs: the delivery is acknowledged, stored a dispatch lease ahead (no dispatcher read
        #    it), and nothing was published.
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
def test_the_dispatcher_reads_the_new_row_and_processes_the_delivery(merchant_a, shop_a, live_server, settings):
    """In-process (tasks eager): the dispatcher's hand-over runs the task in its own thread. Its sweep is a minute
    away, so an event processed by then came through the read of the new rows."""
    settings.WEBHOOK_DISPATCH = "dispatcher"
    merchant = merchant_a.merchant
    dispatcher = WebhookDispatcher(poll_seconds=60)
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: dispatcher.dispatched == 0 and thread.is_alive() and dispatcher.scans >= 1, "scanning")
        assert _send(live_server, shop_a, "orders/create", order_body(quantity=3)) == 200
        wait_until(lambda: getattr(_event(merchant, "orders/create"), "status", None) == Status.PROCESSED,
                   "the event processed by the dispatcher", bound=30)
    finally:
        dispatcher.stop.set()
        thread.join(timeout=90)
    assert dispatcher.dispatched == 1
    with tenant_scope(merchant):
        assert OrderLine.objects.get().quantity == 3


def _raw_connection():
    import psycopg

    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None,
                           dbname=db["NAME"], autocommit=True)


def _insert_uncommitted(raw, shop, delivery_id: str) -> int:
    """A `received` row INSERTed on `raw` (inside its open transaction): its id is taken now, it is seen once
    that transaction commits."""
    with tenant_scope(shop.merchant_id):
        endpoint_id = WebhookEvent.objects.filter(integration=shop).values_list("endpoint_id", flat=True)[0]
    return raw.execute(
        "INSERT INTO webhooks_webhookevent (merchant_id, endpoint_id, integration_id, kind, channel, topic, "
        "delivery_id, headers, body, status, attempts, last_error, result, received_at) VALUES "
        "(%s, %s, %s, 'channel', 'shopify', 'orders/create', %s, '{}', 'x', 'received', 0, '', '{}', now()) "
        "RETURNING id", [shop.merchant_id, endpoint_id, shop.pk, delivery_id]).fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_row_committed_after_a_later_id_is_read_once_and_a_skipped_id_is_given_up(merchant_a, shop_a):
    """Ids are taken when the INSERT runs, rows seen when they commit: the scan that sees a later id first asks for
    the skipped one again until it commits (within `gap_seconds`), and gives up ids that never do."""
    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        make_event(shop_a, status=Status.RECEIVED)  # before the scan starts: not the scan's
    reader, slow = _raw_connection(), _raw_connection()
    try:
        rows = NewRows(reader, batch=500, gap_seconds=60)
        rows.start()
        assert rows.read() == ([], False)
        with slow.transaction():  # takes the next id, commits after a later row
            late = _insert_uncommitted(slow, shop_a, "late")
            with tenant_scope(merchant):
                early = make_event(shop_a, status=Status.RECEIVED).pk
                processed = make_event(shop_a, status=Status.PROCESSED).pk
            assert early > late
            assert rows.read() == ([(early, merchant.pk)], False)  # the processed row is not handed out
            assert late in rows.gaps and rows.last == processed
            assert rows.read() == ([], False)
        assert rows.read() == ([(late, merchant.pk)], False)
        assert late not in rows.gaps and rows.read() == ([], False)

        # An id no row will ever have (a rolled-back INSERT) is given up after gap_seconds.
        with slow.transaction(force_rollback=True):
            lost = _insert_uncommitted(slow, shop_a, "lost")
        with tenant_scope(merchant):
            after = make_event(shop_a, status=Status.RECEIVED).pk
        assert rows.read() == ([(after, merchant.pk)], False) and lost in rows.gaps
        rows.gap_seconds = 0
        rows.read()
        assert rows.gaps == {}
    finally:
        reader.close()
        slow.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_storm_of_duplicates_takes_no_ids_so_a_row_in_flight_is_still_read_when_it_commits(merchant_a, shop_a, client):
    """A re-sent delivery takes no id from the sequence: however many arrive while a row is being committed, the
    ids skipped by the read of the new rows stay the real ones, and that row is handed out when it commits, not
    left to the sweep a lease later (the window of looked-for ids is `gaps_max`: 5 here, 10,000 in production)."""
    merchant = merchant_a.merchant
    event_id = new_event_id()
    assert deliver(client, shop_a, "orders/create", order_body(), event_id=event_id).json()["status"] == "stored"
    reader, slow = _raw_connection(), _raw_connection()
    try:
        rows = NewRows(reader, batch=500, gap_seconds=60, gaps_max=5)
        rows.start()
        with slow.transaction():  # takes the next id, commits after everything below
            late = _insert_uncommitted(slow, shop_a, "late")
            # Given: twelve copies of the stored delivery (through the endpoint, from memory and afresh) and a new one
            answers = [deliver(client, shop_a, "orders/create", order_body(), event_id=event_id).json()["status"]
                       for _ in range(12)]
            new = deliver(client, shop_a, "orders/create", order_body(order_id=7), event_id=new_event_id())
            assert answers == ["duplicate"] * 12 and new.json()["status"] == "stored"
            with tenant_scope(merchant):
                newest = WebhookEvent.objects.filter(merchant=merchant).order_by("-pk").values_list("pk", flat=True)[0]
            # Then: the new delivery took the id right after the row in flight; the duplicates took none
            assert newest == late + 1
            rows.read()  # the new one (processed inline already: not handed out)
            # (ids below `late` are earlier tests' races, noted when the read started: older, given up first)
            assert max(rows.gaps) == late
        # And the row in flight, once committed, is read by the next scan
        assert rows.read() == ([(late, merchant.pk)], False)
        assert late not in rows.gaps
    finally:
        reader.close()
        slow.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_starting_while_an_insert_is_in_flight_reads_that_row_when_it_commits(merchant_a, shop_a):
    with tenant_scope(merchant_a.merchant):
        make_event(shop_a, status=Status.PROCESSED)
    reader, slow = _raw_connection(), _raw_connection()
    try:
        with slow.transaction():
            late = _insert_uncommitted(slow, shop_a, "late")
            with tenant_scope(merchant_a.merchant):
                make_event(shop_a, status=Status.PROCESSED)  # a later id, committed first
            rows = NewRows(reader, batch=500, gap_seconds=60)
            rows.start()
            assert late in rows.gaps
            assert rows.read() == ([], False)
        assert rows.read() == ([(late, merchant_a.merchant.pk)], False)
    finally:
        reader.close()
        slow.close()


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
def test_one_dispatcher_reads_the_new_rows_at_a_time_and_another_takes_over_when_it_ends():
    """The hand-over of the new rows claims nothing: two readers would both hand every event out. The session lock
    lets one read them; the other sweeps, and reads them once the first one's connection ends."""
    first, second = WebhookDispatcher(), WebhookDispatcher()
    leader = first._lead()
    try:
        assert leader is not None
        assert second._lead() is None  # standby
    finally:
        leader.close()
    successor = second._lead()
    assert successor is not None
    successor.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dispatcher_starting_on_more_waiting_events_than_a_batch_hands_each_out_once_and_finishes(
        merchant_a, shop_a, monkeypatch):
    """Events delivered while no dispatcher read the new rows, more than one sweep's batch, each inserted a dispatch lease
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
