"""A first backfill bigger than BULK_BACKFILL_THRESHOLD goes by Shopify's bulk operation (integrations/sync/bulk.py,
integrations/channels/shopify/bulk.py) against the fake: finished by the bulk_operations/finish webhook through
the inbox or by polling; a crash mid-file resumes at the checkpoint; a failed, cancelled or expired operation
falls back to paging; the file is read as a stream."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.channels.shopify import bulk as shopify_bulk
from integrations.models import Integration
from integrations.sync import bulk as engine_bulk
from integrations.sync import connect
from integrations.sync.common import ChannelSession
from jobs.models import WorkerJob
from orders.models import Order
from tests.fakes.shopify import seed_orders
from tests.integrations.sync.conftest import connect_store, run_connect
from tests.webhooks.conftest import deliver

SECRET = "bulk-test-secret"


@pytest.fixture
def bulk_settings(channel_settings):
    channel_settings.BULK_BACKFILL_THRESHOLD = 10
    channel_settings.BULK_POLL_SECONDS = 0.0
    channel_settings.SHOPIFY_CLIENT_SECRET = SECRET
    return channel_settings


def _seed(store, count: int):
    return seed_orders(store.shop, count, lines=3, start=timezone.now() - timedelta(days=3),
                       step=timedelta(minutes=1))


def _ours(merchant, integration) -> list[str]:
    return list(Order.objects.filter(merchant=merchant, integration=integration).values_list("external_id", flat=True))


def test_a_big_backfill_runs_one_bulk_operation_finished_by_its_webhook_through_the_inbox(
        scope_a, shopify_fake, bulk_settings, monkeypatch, client, django_capture_on_commit_callbacks):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=10**5)
    seeded = _seed(store, 30)
    bulk_settings.BULK_POLL_SECONDS = 3600.0  # only the webhook can end the wait early
    shopify_fake.webhook_secret = SECRET
    deliveries: list[tuple[str, bytes, dict]] = []
    shopify_fake.webhook_sink = lambda url, raw, headers: deliveries.append((url, raw, headers))
    gate = shopify_fake.bulk_gate = threading.Event()  # the operation stays RUNNING until the step waits
    delivered = []

    def wait(seconds: float) -> None:
        gate.set()
        for _ in range(500):
            if deliveries:
                break
            threading.Event().wait(0.01)
        while deliveries:
            url, raw, headers = deliveries.pop(0)
            assert url.startswith("https://switchboard.example.test/webhooks/shopify/")
            with django_capture_on_commit_callbacks(execute=True):
                response = deliver(client, store.integration, "bulk_operations/finish", raw, secret=SECRET,
                                   shop=store.shop.domain)
            delivered.append(response.status_code)

    monkeypatch.setattr(engine_bulk, "bulk_sleep", wait)

    job = run_connect(merchant, store.integration)

    assert job.status == WorkerJob.Status.SUCCEEDED, job.last_error
    assert (job.result["orders"], job.result["orders_by"]) == (30, "bulk")
    assert delivered == [200]
    assert sorted(_ours(merchant, store.integration)) == sorted(str(o.id) for o in seeded)
    assert Order.objects.get(merchant=merchant, external_id=str(seeded[0].id)).lines.count() == 3
    assert shopify_fake.calls(root_field="orders") == []  # not one page
    assert len(shopify_fake.calls(root_field="bulkOperationRunQuery")) == 1
    # one status call before the wait, one after the webhook (for the file's URL): the webhook ended the wait
    assert len(shopify_fake.calls(root_field="bulkOperation")) == 2
    assert "BULK_OPERATIONS_FINISH" in {w.topic for w in store.shop.webhooks.values()}
    checkpoints = store.integration.checkpoints
    assert "orders_bulk" not in checkpoints and checkpoints["orders_bulk_done"]["orders"] == 30
    assert checkpoints["orders_updated_at"]


def test_without_a_webhook_address_the_operation_is_polled_to_completion(scope_a, shopify_fake, bulk_settings):
    merchant = scope_a.merchant
    bulk_settings.WEBHOOK_BASE_URL = ""
    store = connect_store(shopify_fake, merchant, stock=10**5)
    seeded = _seed(store, 25)

    job = run_connect(merchant, store.integration)

    assert (job.status, job.result["orders"], job.result["orders_by"]) == (WorkerJob.Status.SUCCEEDED, 25, "bulk")
    assert sorted(_ours(merchant, store.integration)) == sorted(str(o.id) for o in seeded)
    assert store.shop.webhooks == {}
    assert len(shopify_fake.calls(root_field="bulkOperation")) >= 1


def test_at_or_below_the_threshold_the_backfill_pages(scope_a, shopify_fake, bulk_settings):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=10**5)
    _seed(store, 10)

    job = run_connect(merchant, store.integration)

    assert (job.result["orders"], job.result.get("orders_by")) == (10, None)
    assert shopify_fake.calls(root_field="bulkOperationRunQuery") == []
    assert len(shopify_fake.calls(root_field="ordersCount")) == 1


def test_a_crash_mid_file_resumes_at_the_checkpoint_and_no_order_is_lost_or_doubled(
        scope_a, shopify_fake, bulk_settings, monkeypatch):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=10**5)
    monkeypatch.setattr(engine_bulk, "PAGE_SIZE", 20)  # 250 in production; the same code with fewer orders
    seeded = _seed(store, 50)  # pages of 20, 20, 10
    integration = store.integration
    pages: list[list[str]] = []
    real_ingest = connect.orders_page_ingest

    def crashing(*, merchant, integration, items):
        pages.append([o.external_id for o in items])
        if len(pages) == 2:
            raise RuntimeError("the worker died")
        return real_ingest(merchant=merchant, integration=integration, items=items)

    monkeypatch.setattr(connect, "orders_page_ingest", crashing)
    with pytest.raises(RuntimeError):
        connect.orders_step(merchant=merchant, integration=integration,
                            session=ChannelSession(merchant=merchant, integration=integration))
    integration.refresh_from_db()
    state = integration.checkpoints["orders_bulk"]
    assert (state["done"], state["last"]) == (20, pages[0][-1]) and state["offset"] > 0
    assert len(_ours(merchant, integration)) == 20

    pages_after: list[list[str]] = []

    def recording(*, merchant, integration, items):
        pages_after.append([o.external_id for o in items])
        return real_ingest(merchant=merchant, integration=integration, items=items)

    monkeypatch.setattr(connect, "orders_page_ingest", recording)
    result = connect.orders_step(merchant=merchant, integration=integration,
                                 session=ChannelSession(merchant=merchant, integration=integration))

    assert (result["orders"], result["orders_by"]) == (50, "bulk")
    assert len(shopify_fake.calls(root_field="bulkOperationRunQuery")) == 1  # the same operation, resumed
    assert pages_after[0] == pages[1]  # the page that crashed is read again, from its first order
    assert [len(p) for p in pages_after] == [20, 10]
    ours = _ours(merchant, integration)
    assert len(ours) == len(set(ours)) == 50
    assert set(ours) == {str(o.id) for o in seeded}
    assert "orders_bulk" not in Integration.objects.get(pk=integration.pk).checkpoints


@pytest.mark.parametrize("mode", ["failed", "canceled", "expired"])
def test_an_operation_that_ends_without_a_file_falls_back_to_paging(scope_a, shopify_fake, bulk_settings, mode):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=10**5)
    seeded = _seed(store, 40)
    shopify_fake.bulk_mode = mode

    job = run_connect(merchant, store.integration)

    assert job.status == WorkerJob.Status.SUCCEEDED, job.last_error
    assert (job.result["orders"], job.result.get("orders_by")) == (40, None)
    assert sorted(_ours(merchant, store.integration)) == sorted(str(o.id) for o in seeded)
    assert shopify_fake.calls(root_field="orders")  # paged
    fallback = store.integration.checkpoints["orders_bulk_fallback"]
    assert fallback["state"] == mode
    assert "orders_bulk" not in store.integration.checkpoints


def test_a_second_bulk_query_while_one_runs_is_refused_and_the_backfill_pages(scope_a, shopify_fake, bulk_settings):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=10**5)
    _seed(store, 20)
    shopify_fake.bulk_gate = gate = threading.Event()  # someone else's (our app's) operation is still running
    adapter = ChannelSession(merchant=merchant, integration=store.integration).adapter
    running = adapter.bulk_export_start(None, None)
    assert running.state == "running"
    try:
        job = run_connect(merchant, store.integration)
    finally:
        gate.set()

    assert (job.result["orders"], job.result.get("orders_by")) == (20, None)
    assert "OPERATION_IN_PROGRESS" in store.integration.checkpoints["orders_bulk_fallback"]["error"]


def test_the_file_is_read_as_a_stream_never_ahead_of_the_order_being_handed_out(
        scope_a, shopify_fake, bulk_settings, monkeypatch):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant)
    _seed(store, 400)
    adapter = ChannelSession(merchant=merchant, integration=store.integration).adapter
    export = adapter.bulk_export_start(None, None)
    while not export.finished:
        threading.Event().wait(0.02)
        export = adapter.bulk_export_status(export.id)
    monkeypatch.setattr(shopify_bulk, "READ_CHUNK", 4096)
    pulled = [0]
    real_lines = shopify_bulk._lines

    def counting(chunks, skip):
        def counted():
            for chunk in chunks:
                pulled[0] += len(chunk)
                yield chunk
        return real_lines(counted(), skip)

    monkeypatch.setattr(shopify_bulk, "_lines", counting)
    ahead = []
    count = 0
    for item in adapter.bulk_export_orders(export):
        count += 1
        ahead.append(pulled[0] - item.resume_offset)
    assert count == 400
    # at any order, what was downloaded goes past it by at most the next order's first line and one chunk
    assert max(ahead) <= 4096 + 2048
    assert pulled[0] > 400 * 1000  # the file is far bigger than what was ever held


def test_a_backfill_resumed_after_its_operation_expired_pages_the_rest_without_doubling(
        scope_a, shopify_fake, bulk_settings, monkeypatch):
    from tests.fakes.shopify.bulk import expire

    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=10**5)
    monkeypatch.setattr(engine_bulk, "PAGE_SIZE", 15)
    seeded = _seed(store, 40)
    integration = store.integration
    real_ingest = connect.orders_page_ingest
    calls = []

    def crashing(*, merchant, integration, items):
        calls.append(len(items))
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return real_ingest(merchant=merchant, integration=integration, items=items)

    monkeypatch.setattr(connect, "orders_page_ingest", crashing)
    with pytest.raises(RuntimeError):
        connect.orders_step(merchant=merchant, integration=integration,
                            session=ChannelSession(merchant=merchant, integration=integration))
    (operation,) = store.shop.bulk_operations.values()
    expire(operation)  # the worker came back after the file's URL lapsed
    monkeypatch.setattr(connect, "orders_page_ingest", real_ingest)
    integration.refresh_from_db()

    result = connect.orders_step(merchant=merchant, integration=integration,
                                 session=ChannelSession(merchant=merchant, integration=integration))

    assert result["orders"] == 40 and result.get("orders_by") is None  # paged, the whole window again
    ours = _ours(merchant, integration)
    assert len(ours) == len(set(ours)) == 40 and set(ours) == {str(o.id) for o in seeded}
    assert integration.checkpoints["orders_bulk_fallback"]["state"] == "expired"
    assert integration.checkpoints["orders_bulk_fallback"]["read"] == 15
