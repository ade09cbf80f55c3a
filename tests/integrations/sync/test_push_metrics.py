"""Stock push latency reaches /metrics: one observation per push call to the channel, by channel and outcome."""

from __future__ import annotations

from integrations.tasks import stock_push_task
from inventory import services as inventory_services
from inventory.models import Product
from tests.core.test_metrics import TOKEN, scrape, value
from tests.integrations.sync.conftest import connect_store, run_connect

PUSHES = "switchboard_stock_push_duration_seconds_count"


def test_a_stock_push_is_observed_once_for_its_channel(scope_a, shopify_fake, channel_settings, client, settings):
    settings.METRICS_TOKEN = TOKEN
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=50)
    run_connect(merchant, store.integration)
    before = value(scrape(client), PUSHES, channel="shopify", outcome="answered")

    pink = Product.objects.get(merchant=merchant, sku="IPOD2008PINK")
    inventory_services.stock_adjust(merchant=merchant, product_id=pink.pk, delta=5, reason="received")
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})  # nothing changed since: no call, no observation

    body = scrape(client)
    assert value(body, PUSHES, channel="shopify", outcome="answered") == before + 1
