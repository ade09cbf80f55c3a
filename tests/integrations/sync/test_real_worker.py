"""The production path of a stock change: the mark's commit schedules a debounced push, a real Celery
worker (Redis broker) runs it, and the quantity reaches the Shopify fake (waited for up to a deadline: how fast
it arrives is a benchmark's to measure, not a test's)."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from accounts.tenancy import tenant_scope, unscoped
from integrations.models import Listing
from inventory import services as inventory_services
from inventory.models import Product
from tests.integrations.sync.conftest import connect_store

WAIT = 60.0


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
@pytest.mark.postgres
def test_a_stock_change_reaches_the_channel_within_seconds_through_one_debounced_push(
        merchant_a, shopify_fake, channel_settings):
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        store = connect_store(shopify_fake, merchant, stock=20)
        location = store.location_id()
        integration = store.integration
        integration.settings = {**integration.settings, "location_external_id": location}
        integration.save(update_fields=["settings"])
        for variant in store.shop.variants.values():
            product = Product.objects.get(merchant=merchant, sku=variant.sku)
            store.shop.set_quantity(variant.inventory_item_id, int(location), 20)
            Listing.objects.create(merchant=merchant, integration=integration, external_id=str(variant.id),
                                   channel_ref=str(variant.inventory_item_id), sku=variant.sku,
                                   product=product, last_pushed_quantity=20, channel_quantity=20)
        pink = Product.objects.get(merchant=merchant, sku="IPOD2008PINK")
    item = store.shop.variant_by_sku("IPOD2008PINK").inventory_item_id

    channel_settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = channel_settings.REDIS_URL
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            with tenant_scope(merchant):
                for delta in (-1, -1, -1, -2):  # a burst of four changes, four commits
                    with transaction.atomic():
                        inventory_services.stock_adjust(merchant=merchant, product_id=pink.pk, delta=delta,
                                                        reason="adjustment")
            # An upper bound on waiting for the worker, not a timing assertion (how fast is bench/'s to say).
            deadline = time.monotonic() + WAIT
            while store.shop.quantity(item, int(location)) != 15:
                assert time.monotonic() < deadline, f"the push did not reach the store within {WAIT} s"
                time.sleep(0.05)
            time.sleep(1.5)  # any second push would have come by now
    finally:
        app.conf.task_always_eager = True

    assert store.shop.quantity(item, int(location)) == 15
    pushes = shopify_fake.calls(root_field="inventorySetQuantities")
    assert len(pushes) == 1  # the burst became one push
    assert [(q["quantity"], q["changeFromQuantity"]) for q in pushes[0].variables["input"]["quantities"]] == [(15, 20)]
    with unscoped("test read"):
        assert Listing.objects.get(integration=integration, sku="IPOD2008PINK").last_pushed_quantity == 15
