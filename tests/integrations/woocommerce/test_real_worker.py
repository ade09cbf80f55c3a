"""The production path to and from a WooCommerce store: a burst of stock changes commits, a real Celery worker
(Redis broker) runs the debounced push, and the store sees the final quantity in one batch call; a signed
delivery for a new order, posted to a live server, is created by a Celery worker process."""

from __future__ import annotations

import time

import pytest
import redis
import requests
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from accounts.tenancy import tenant_scope, unscoped
from config.celery import app
from integrations.models import Listing
from inventory import services as inventory_services
from inventory.models import Product
from orders.models import Order, OrderEvent
from tests.fakes.woocommerce import webhook_request
from tests.integrations.woocommerce.conftest import woo_store
from tests.orders.helpers import level
from tests.webhooks.conftest import url_for
from tests.worker_process import KOMBU_KEYS
from tests.worker_process import wait_until as _wait
from tests.worker_process import worker_start as _start_worker
from webhooks.models import WebhookEvent

SECRET = "our-own-webhook-secret-for-this-store-0123456789"


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
@pytest.mark.postgres
def test_a_burst_of_stock_changes_reaches_the_store_in_one_batch_call(merchant_a, woo_fake, woo_channel_settings):
    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        store = woo_store(woo_fake, merchant, stock=20)
        for body in woo_fake.store.products.values():
            if body["type"] == "variable":
                continue
            body["stock_quantity"] = 20
            Listing.objects.create(merchant=merchant, integration=store.integration, external_id=str(body["id"]),
                                   channel_ref=str(body["id"]), sku=body["sku"],
                                   product=Product.objects.get(merchant=merchant, sku=body["sku"]),
                                   channel_data={"type": body["type"], "manage_stock": True,
                                                 **({"parent_id": body["parent_id"]} if body["parent_id"] else {})},
                                   last_pushed_quantity=20, channel_quantity=20)
        tee = Product.objects.get(merchant=merchant, sku="TEE-S")
    variation = next(p for p in woo_fake.store.products.values() if p["sku"] == "TEE-S")

    woo_channel_settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = woo_channel_settings.REDIS_URL
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            with tenant_scope(merchant):
                for delta in (-1, -1, -3):  # a burst of three changes, three commits
                    with transaction.atomic():
                        inventory_services.stock_adjust(merchant=merchant, product_id=tee.pk, delta=delta,
                                                        reason="adjustment")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and variation["stock_quantity"] != 15:
                time.sleep(0.05)
            time.sleep(1.5)  # any second push would have come by now
    finally:
        app.conf.task_always_eager = True

    assert variation["stock_quantity"] == 15
    [push] = [c for c in woo_fake.calls(method="POST", path=r"/products/\d+/variations/batch")]
    assert push.body["update"] == [{"id": variation["id"], "manage_stock": True, "stock_quantity": 15}]
    assert woo_fake.calls(method="POST", path="/products/batch") == []
    with unscoped("test read"):
        assert Listing.objects.get(integration=store.integration, sku="TEE-S").last_pushed_quantity == 15


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
@pytest.mark.postgres
def test_a_signed_delivery_for_a_new_order_is_created_by_a_worker_process(merchant_a, woo_fake, live_server,
                                                                           tmp_path, settings):
    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        store = woo_store(woo_fake, merchant, stock=10)
        store.integration.credentials = {**store.integration.credentials, "webhook_secret": SECRET}
        store.integration.save(update_fields=["credentials"])
    mug = next(p for p in woo_fake.store.products.values() if p["sku"] == "MUG-1")
    body = woo_fake.store.add_order([(mug, 2)], status="processing")
    raw, headers = webhook_request(topic="order.created", body=body, secret=SECRET)

    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.delete(*KOMBU_KEYS)
    eager, broker_url = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, settings.REDIS_URL
    log = tmp_path / "worker.log"
    worker = _start_worker(log)
    try:
        response = requests.post(live_server.url + url_for(store.integration), data=raw, headers=headers, timeout=30)
        assert response.status_code == 200, response.text

        def created() -> bool:
            with tenant_scope(merchant):
                return (Order.objects.filter(merchant=merchant, external_id=str(body["id"])).exists()
                        and WebhookEvent.objects.filter(merchant=merchant,
                                                        status=WebhookEvent.Status.PROCESSED).exists())

        _wait(created, "the worker process to create the order", log)  # a deadline, not a timing assertion
        again = requests.post(live_server.url + url_for(store.integration), data=raw, headers=headers, timeout=30)
        assert again.status_code == 200
    finally:
        app.conf.task_always_eager, app.conf.broker_url = eager, broker_url
        worker.terminate()
        worker.wait(timeout=60)
        broker.delete(*KOMBU_KEYS)

    with tenant_scope(merchant):
        order = Order.objects.get(merchant=merchant)
        [event] = WebhookEvent.objects.filter(merchant=merchant)  # the same delivery again is no second event
        mug_product = Product.objects.get(merchant=merchant, sku="MUG-1")
        assert (event.topic, event.status) == ("order.created", WebhookEvent.Status.PROCESSED)
        assert (order.status, level(merchant, mug_product).reserved) == ("unfulfilled", 2)
        assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.RECEIVED).count() == 1
