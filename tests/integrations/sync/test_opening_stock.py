"""Issue 14 §3.1/§3.2: a product with no stock history takes the store's quantity as opening stock, so the
first push changes nothing at the store (the defect: "Create product" pushed 0 over the shop's 52); mapping a
listing remembers the store's SKU alias and matches and reserves the orders waiting on it."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from integrations.models import Listing
from integrations.services import listing_create_product, listing_map
from integrations.tasks import stock_push_task
from inventory.models import Product, SkuAlias, StockLevel, StockMovement
from orders.models import Order, OrderLine
from tests.fakes.shopify import seed_orders
from tests.integrations.sync.conftest import connect_store, run_connect
from tests.inventory.helpers import make_product

SKU = "IPOD2008PINK"


def _variant(store, sku: str = SKU):
    return store.shop.variant_by_sku(sku)


def _shop_available(store, sku: str = SKU) -> int:
    return store.shop.quantity(_variant(store, sku).inventory_item_id, int(store.location_id()))


def _set_shop(store, sku: str, available: int, committed: int = 0) -> None:
    variant, location = _variant(store, sku), int(store.location_id())
    store.shop.set_quantity(variant.inventory_item_id, location, available)
    store.shop.set_quantity(variant.inventory_item_id, location, committed, name="committed")


def _levels(merchant, sku: str) -> tuple[int, int]:
    level = StockLevel.objects.get(merchant=merchant, product__sku=sku)
    return level.on_hand, level.reserved


def test_create_product_keeps_the_stores_52(scope_a, shopify_fake, channel_settings):
    # given a store showing 52 of a variant we have no product for
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=5)
    Product.objects.filter(merchant=merchant, sku=SKU).delete()
    _set_shop(store, SKU, 52)
    run_connect(merchant, store.integration)
    listing = Listing.objects.get(merchant=merchant, sku=SKU)
    assert (listing.product_id, listing.channel_quantity) == (None, 52)

    # when the merchant creates the product from the listing and the stock push runs
    matched = listing_create_product(merchant=merchant, actor=scope_a.user, listing=listing)
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})

    # then the store's 52 is the product's opening stock, one `opening` movement naming the store
    assert matched.opened == 52
    movement = StockMovement.objects.get(merchant=merchant, product__sku=SKU)
    assert (movement.reason, movement.on_hand_delta, movement.reference) == (
        "opening", 52, f"integration:{store.integration.pk}")
    assert _levels(merchant, SKU) == (52, 0)
    # and the store still shows 52: the first push changed nothing there, and the listing says so
    assert _shop_available(store) == 52
    listing.refresh_from_db()
    assert (listing.first_push_from, listing.first_push_to, listing.last_pushed_quantity) == (52, 52, 52)


def test_opening_stock_covers_the_stores_open_orders_so_available_equals_the_channels(
        scope_a, shopify_fake, channel_settings):
    # given a store with 50 available and 2 committed to an open order waiting on a SKU we have no product for
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=5)
    Product.objects.filter(merchant=merchant, sku=SKU).delete()
    seed_orders(store.shop, 4, lines=1, quantity=2, start=timezone.now() - timedelta(hours=1))  # one per variant
    _set_shop(store, SKU, 50, committed=2)
    run_connect(merchant, store.integration)
    waiting = OrderLine.objects.get(merchant=merchant, sku=SKU)
    assert (waiting.product_id, waiting.quantity_reserved) == (None, 0)

    # when the product is created from the listing
    matched = listing_create_product(merchant=merchant, actor=scope_a.user,
                                     listing=Listing.objects.get(merchant=merchant, sku=SKU))
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})

    # then 52 on hand, 2 reserved for the waiting order, 50 available: what the store shows, unchanged
    assert (matched.opened, matched.orders) == (52, 1)
    assert _levels(merchant, SKU) == (52, 2)
    waiting.refresh_from_db()
    assert (waiting.product.sku, waiting.quantity_reserved) == (SKU, 2)
    assert _shop_available(store) == 50


def test_a_product_with_history_keeps_our_truth(scope_a, shopify_fake, channel_settings):
    # given our product with 7 received, unmatched to a listing showing 52
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=5)
    Product.objects.filter(merchant=merchant, sku=SKU).delete()
    _set_shop(store, SKU, 52)
    run_connect(merchant, store.integration)
    make_product(merchant, "OUR-PINK", on_hand=7)

    # when the listing is mapped to it
    matched = listing_map(merchant=merchant, actor=scope_a.user,
                          listing=Listing.objects.get(merchant=merchant, sku=SKU), sku="our-pink")
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})

    # then nothing is opened and our 7 is pushed over the store's 52, which the integration page lists
    assert matched.opened == 0
    assert _levels(merchant, "OUR-PINK") == (7, 0)
    assert _shop_available(store) == 7
    listing = Listing.objects.get(merchant=merchant, sku=SKU)
    assert (listing.first_push_from, listing.first_push_to) == (52, 7)


def test_a_first_match_at_import_opens_a_product_without_history(scope_a, shopify_fake, channel_settings):
    # given our products for the store's SKUs, created from a catalog with no stock movement yet
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=0)
    _set_shop(store, SKU, 52)
    assert not StockMovement.objects.filter(merchant=merchant).exists()

    # when the store is connected (listings matched by SKU) and the stock push runs
    run_connect(merchant, store.integration)
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})

    # then each product opened with the store's quantity and the store shows what it showed
    assert _levels(merchant, SKU) == (52, 0)
    assert _shop_available(store) == 52
    for variant in store.shop.variants.values():
        listing = Listing.objects.get(merchant=merchant, external_id=str(variant.id))
        assert listing.first_push_from == listing.first_push_to


def test_mapping_a_listing_remembers_the_stores_alias_and_reserves_the_waiting_orders(
        scope_a, shopify_fake, channel_settings):
    # given a store whose orders wait on SKU IPOD2008PINK, and our product PINK-NANO with 10 received
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=5)
    Product.objects.filter(merchant=merchant, sku=SKU).delete()
    seed_orders(store.shop, 8, lines=1, quantity=1, start=timezone.now() - timedelta(hours=1))  # 2 per variant
    run_connect(merchant, store.integration)
    product = make_product(merchant, "PINK-NANO", on_hand=10)
    assert OrderLine.objects.filter(merchant=merchant, sku=SKU, product__isnull=True).count() == 2

    # when the listing is mapped to PINK-NANO
    matched = listing_map(merchant=merchant, actor=scope_a.user,
                          listing=Listing.objects.get(merchant=merchant, sku=SKU), sku="PINK-NANO")

    # then the store's SKU is an alias of the product (inventory's one alias system) for this store only,
    alias = SkuAlias.objects.get(merchant=merchant)
    assert (alias.sku, alias.product_id, alias.store_key) == (SKU, product.pk, f"integration:{store.integration.pk}")
    # and both waiting orders are matched and reserved at once
    assert (matched.alias, matched.orders) == (True, 2)
    lines = OrderLine.objects.filter(merchant=merchant, sku=SKU)
    assert sorted(lines.values_list("product_id", "quantity_reserved")) == [(product.pk, 1), (product.pk, 1)]
    assert _levels(merchant, "PINK-NANO") == (10, 2)
    assert not Order.objects.filter(merchant=merchant, lines__sku=SKU, needs_attention=True).exists()


def test_a_product_without_history_is_not_pushed_while_the_stores_quantity_is_unknown(
        scope_a, shopify_fake, channel_settings):
    from integrations.sync import listings_push

    # given a store showing 52, and a listing of it whose quantity we have not seen, mapped to a new product
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=5)
    run_connect(merchant, store.integration)
    _set_shop(store, SKU, 52)
    fresh = make_product(merchant, "FRESH")
    Listing.objects.filter(merchant=merchant, sku=SKU).update(product=fresh, channel_quantity=None,
                                                              last_pushed_quantity=None)

    # when the store's listings are pushed
    result = listings_push(merchant=merchant, integration=store.integration)

    # then nothing is sent for it: we hold no truth for FRESH, and the store keeps its 52
    assert _shop_available(store) == 52
    assert Listing.objects.get(merchant=merchant, sku=SKU).last_pushed_quantity is None
    item = f"gid://shopify/InventoryItem/{_variant(store).inventory_item_id}"
    sent = [q["inventoryItemId"] for call in shopify_fake.calls(root_field="inventorySetQuantities")
            for q in call.variables["input"]["quantities"]]
    assert item not in sent and len(sent) == result["pushed"] == 3  # the other three variants, ours known
