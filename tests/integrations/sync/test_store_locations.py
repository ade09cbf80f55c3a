"""Issue 14 §3.3: which of our locations feed a store. All by default; a chosen subset per integration, and
then the push sums only those (and a product's opening stock from that store lands in the first of them)."""

from __future__ import annotations

from integrations.models import Integration, Listing
from integrations.services import integration_update, listing_create_product
from integrations.tasks import stock_push_task
from inventory import services as inventory_services
from inventory.models import Product, StockLevel
from tests.integrations.sync.conftest import connect_store, run_connect

SKU = "IPOD2008PINK"


def _shop_available(store, sku: str = SKU) -> int:
    return store.shop.quantity(store.shop.variant_by_sku(sku).inventory_item_id, int(store.location_id()))


def test_the_push_sums_only_the_locations_chosen_for_the_store(scope_a, shopify_fake, channel_settings,
                                                                django_capture_on_commit_callbacks):
    # given 5 units at the default location and 20 in the back room, and a connected store fed by all of them
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=5)
    backroom = inventory_services.location_create(merchant=merchant, name="Back room", code="BACK")
    pink = Product.objects.get(merchant=merchant, sku=SKU)
    inventory_services.stock_adjust(merchant=merchant, product_id=pink.pk, delta=20, location_id=backroom.pk)
    run_connect(merchant, store.integration)
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})
    assert _shop_available(store) == 25

    # when the merchant says only the back room feeds this store
    with django_capture_on_commit_callbacks(execute=True):
        integration_update(merchant=merchant, actor=scope_a.user, integration=store.integration,
                           settings={"location_ids": [backroom.pk]})

    # then the store shows the back room's 20, pushed at once
    assert Integration.objects.get(pk=store.integration.pk).settings["location_ids"] == [backroom.pk]
    assert _shop_available(store) == 20
    assert Listing.objects.get(merchant=merchant, sku=SKU).last_pushed_quantity == 20

    # and null gives every location back
    with django_capture_on_commit_callbacks(execute=True):
        integration_update(merchant=merchant, actor=scope_a.user, integration=store.integration,
                           settings={"location_ids": None})
    assert _shop_available(store) == 25


def test_opening_stock_lands_in_the_stores_first_chosen_location(scope_a, shopify_fake, channel_settings):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=5)
    Product.objects.filter(merchant=merchant, sku=SKU).delete()
    backroom = inventory_services.location_create(merchant=merchant, name="Back room", code="BACK")
    integration_update(merchant=merchant, actor=scope_a.user, integration=store.integration,
                       settings={"location_ids": [backroom.pk]})
    run_connect(merchant, store.integration)
    listing = Listing.objects.get(merchant=merchant, sku=SKU)

    listing_create_product(merchant=merchant, actor=scope_a.user, listing=listing)
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})

    level = StockLevel.objects.get(merchant=merchant, product__sku=SKU, on_hand__gt=0)
    assert (level.location_id, level.on_hand) == (backroom.pk, listing.channel_quantity)
    assert _shop_available(store) == listing.channel_quantity
