"""Tracking leaves on commit in production: a shipment's commit enqueues the tracking push, a real Celery
worker (Redis broker) runs it, and the fulfillment with its tracking reaches the Shopify fake without beat."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.tenancy import tenant_scope, unscoped
from orders.models import Order, TrackingOutbox
from orders.services import order_fulfill_all
from tests.fakes.shopify import seed_orders
from tests.integrations.sync.conftest import connect_store, run_connect


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
@pytest.mark.postgres
def test_a_shipments_tracking_reaches_the_channel_without_waiting_for_beat(merchant_a, shopify_fake, channel_settings):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        store = connect_store(shopify_fake, merchant, stock=10)
        seed_orders(store.shop, 1, lines=1, start=timezone.now() - timedelta(hours=1))
        run_connect(merchant, store.integration)
        order = Order.objects.get(merchant=merchant, integration=store.integration)

    channel_settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = channel_settings.REDIS_URL
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            with tenant_scope(merchant), transaction.atomic():
                shipment = order_fulfill_all(merchant=merchant, order=order, carrier="UPS",
                                             tracking_number="1Z999AA10123456784")
            deadline = time.monotonic() + 30  # a bound on a broken run, not the assertion
            while time.monotonic() < deadline and not shopify_fake.calls(root_field="fulfillmentCreate"):
                time.sleep(0.05)
            while time.monotonic() < deadline:  # the row is marked after the answer
                with unscoped("test read"):
                    if TrackingOutbox.objects.filter(shipment=shipment, processed_at__isnull=False).exists():
                        break
                time.sleep(0.05)
    finally:
        app.conf.task_always_eager = True

    (create,) = shopify_fake.calls(root_field="fulfillmentCreate")
    assert create.variables["f"]["trackingInfo"]["number"] == "1Z999AA10123456784"
    with unscoped("test read"):
        row = TrackingOutbox.objects.get(shipment=shipment)
    assert (row.attempts, row.last_error, row.channel_fulfillment_id != "") == (1, "", True)
