"""Amazon on the production path: real Celery worker *processes* (Redis broker, PostgreSQL) do what the API
and the order pages enqueue. Connect → the connect job imports the listings and backfills the orders across
pages; a shipment's commit → confirmShipment with every item; a stock change → the new quantity reaches
Amazon. Two worker processes in turn share one access token through Redis: the second never exchanges the
refresh token until Amazon expires the token, and then exactly once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from accounts.tenancy import tenant_scope, unscoped
from integrations.models import Integration, Listing
from inventory.services import stock_adjust
from jobs.models import WorkerJob
from orders.models import Order
from orders.services import order_fulfill_all
from tests.inventory.helpers import make_product
from tests.orders.helpers import level
from tests.worker_process import KOMBU_KEYS, wait_until, worker_start, worker_stop

ORDERS = 250  # three pages of searchOrders


def _start_worker(amazon, log: Path) -> subprocess.Popen:
    return worker_start(log, {"AMAZON_SPAPI_ENDPOINT": amazon.fake.base_url,
                              "AMAZON_LWA_TOKEN_URL": amazon.fake.lwa_url,
                              "AMAZON_SPAPI_RATE_SCALE": str(amazon.fake.time_scale),
                              "OUTBOUND_ALLOWED_PRIVATE_HOSTS": "127.0.0.1"})


def _read(query):
    with unscoped("test read"):
        return query()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_connect_backfill_ship_and_push_through_two_worker_processes_sharing_one_token(
        amazon, merchant_a, tmp_path):
    import redis

    from config.celery import app

    merchant, fake, seller = merchant_a.merchant, amazon.fake, amazon.seller
    with tenant_scope(merchant):
        mug, lid = make_product(merchant, "MUG", on_hand=5000), make_product(merchant, "LID", on_hand=5000)
    fake.add_listing(seller, "MUG", quantity=1)
    fake.add_listing(seller, "LID", quantity=1)
    for _ in range(ORDERS):
        fake.add_order(seller, [("MUG", 1, "10.00"), ("LID", 2, "1.25")], shipping="2.50")

    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete(*KOMBU_KEYS)
    eager, broker_url = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, settings.REDIS_URL
    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    first = _start_worker(amazon, first_log)
    second = None
    try:
        # 1. Connect through the API: the connect job runs in worker 1 (listings, then the backfill by pages)
        created = merchant_a.api.post("/api/v1/integrations/", {
            "channel": "amazon", "name": "Amazon US", "credentials": amazon.credentials()}, format="json")
        assert created.status_code == 201, created.content
        job_id = created.json()["job"]
        wait_until(lambda: _read(lambda: WorkerJob.objects.get(pk=job_id).status) in ("succeeded", "failed", "dead"),
              "the connect job", first_log)
        connect_calls, connect_exchanges = len(fake.calls()), fake.token_exchanges()

        # 2. Worker 1 goes, worker 2 comes; Amazon expires every token in between
        worker_stop(first)
        second = _start_worker(amazon, second_log)
        fake.expire_tokens()
        order = _read(lambda: Order.objects.filter(merchant=merchant).order_by("id").first())
        with tenant_scope(merchant), transaction.atomic():
            order_fulfill_all(merchant=merchant, order=order, carrier="UPS", tracking_number="1Z999AA10123456784")
        wait_until(lambda: fake.calls("confirmShipment", status=204), "confirmShipment", second_log)
        with tenant_scope(merchant), transaction.atomic():
            stock_adjust(merchant=merchant, product_id=mug.pk, delta=10, reason="received")
        with tenant_scope(merchant):
            mug_available = level(merchant, mug).on_hand - level(merchant, mug).reserved
        wait_until(lambda: _read(lambda: Listing.objects.get(sku="MUG").last_pushed_quantity) == mug_available,
              "the stock push", second_log)
    finally:
        app.conf.task_always_eager, app.conf.broker_url = eager, broker_url
        worker_stop(first)
        if second is not None:
            worker_stop(second)
        broker.delete(*KOMBU_KEYS)

    job = _read(lambda: WorkerJob.objects.get(pk=job_id))
    integration = _read(lambda: Integration.objects.get(merchant=merchant))
    assert job.status == "succeeded", job.last_error
    assert [c.status for c in fake.calls("searchOrders")] == [200] * 3
    assert _read(lambda: Order.objects.filter(merchant=merchant).count()) == ORDERS
    assert _read(lambda: Order.objects.filter(merchant=merchant).values("external_id").distinct().count()) == ORDERS
    (confirm,) = fake.calls("confirmShipment", status=204)
    amazon_order = fake.orders[order.external_id]
    assert confirm.body["packageDetail"]["orderItems"] == [
        {"orderItemId": i.order_item_id, "quantity": i.quantity} for i in amazon_order.items]
    assert amazon_order.status == "SHIPPED"
    assert mug_available == 5000 + 10 - ORDERS  # one order shipped: one off the shelf, one less reserved
    assert fake.listings[(seller.seller_id, "MUG")].quantity == mug_available
    assert _read(lambda: Listing.objects.get(integration=integration, sku="LID").product_id) == lid.pk
    # one exchange served the API's check and the whole connect job; after the expiry, one more for worker 2
    sp_api_calls = len(fake.calls())
    assert connect_exchanges == 1 and connect_calls >= 6
    assert fake.token_exchanges() == 2 and sp_api_calls > 5 * fake.token_exchanges()
    assert len(fake.calls(status=403)) == 1  # the expired token, refused once and dropped
