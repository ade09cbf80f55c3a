"""One SKU → product rule for listings and order lines (inventory.selectors.product_match_skus): the
product's own SKU (spaces and case aside), then the store's remembered alias, then the merchant's."""

from __future__ import annotations

from inventory import services as inventory_services
from inventory.models import Product
from orders import services as orders_services
from orders.channels import store_key
from orders.models import OrderLine
from tests.integrations.sync.conftest import connect_store, run_connect
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized


def test_a_listing_finds_its_product_by_the_rule_an_order_line_of_the_same_store_uses(
        scope_a, shopify_fake, channel_settings):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant)
    # Our catalog names two of the shop's variants differently; their SKUs are remembered as aliases: one
    # for this store only, one for every store.
    Product.objects.filter(merchant=merchant, sku__in=["IPOD2008PINK", "IPOD2008RED"]).delete()
    pink, red = make_product(merchant, "OUR-PINK", on_hand=0), make_product(merchant, "OUR-RED", on_hand=0)
    inventory_services.sku_alias_remember(merchant=merchant, sku="ipod2008pink", product=pink,
                                          store_key=store_key(store.integration.pk))
    inventory_services.sku_alias_remember(merchant=merchant, sku="IPOD2008RED", product=red)

    run_connect(merchant, store.integration)
    order = orders_services.order_ingest(merchant=merchant, integration_id=store.integration.pk, normalized=normalized(
        "9001", lines=(("L1", "IPOD2008PINK", 1), ("L2", " ipod2008red ", 1), ("L3", "IPOD2008GREEN ", 1)))).order

    listings = {row.sku: row.product.sku if row.product else None
                for row in store.integration.listings.select_related("product")}
    lines = {li.external_id: li.product.sku if li.product else None
             for li in OrderLine.objects.filter(merchant=merchant, order=order).select_related("product")}
    assert (listings["IPOD2008PINK"], listings["IPOD2008RED"], listings["IPOD2008GREEN"]) == (
        "OUR-PINK", "OUR-RED", "IPOD2008GREEN")
    assert lines == {"L1": "OUR-PINK", "L2": "OUR-RED", "L3": "IPOD2008GREEN"}  # surrounding spaces are no SKU
