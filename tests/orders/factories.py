"""Factories for the tenant-isolation guard test: one per model an orders API endpoint serves."""

from inventory.models import SkuAlias
from orders import services
from orders.models import Order, OrderLine, Shipment
from orders.services import ShipmentLineRequest
from tests.factories import object_factory
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized


@object_factory(Order)
def order(tenant):
    return services.order_ingest(merchant=tenant.merchant, integration_id=None,
                                 normalized=normalized("guard-order")).order


@object_factory(Shipment)
def shipment(tenant):
    from inventory import selectors as inventory_selectors

    if not inventory_selectors.product_map_by_sku(merchant=tenant.merchant, skus=["GUARD-1"]):
        make_product(tenant.merchant, "GUARD-1", on_hand=10)
    o = services.order_ingest(merchant=tenant.merchant, integration_id=None,
                              normalized=normalized("guard-shipment", lines=(("L", "GUARD-1", 2),))).order
    line = OrderLine.objects.get(merchant=tenant.merchant, order=o)
    return services.shipment_create(merchant=tenant.merchant, order=o, lines=[ShipmentLineRequest(line.pk, 1)],
                                    ship=False)


@object_factory(SkuAlias)
def sku_alias(tenant):
    from inventory import selectors as inventory_selectors
    from inventory.services import sku_alias_remember

    if not inventory_selectors.product_map_by_sku(merchant=tenant.merchant, skus=["GUARD-ALIAS"]):
        make_product(tenant.merchant, "GUARD-ALIAS", on_hand=1)
    product = inventory_selectors.product_resolve_skus(merchant=tenant.merchant, skus=["GUARD-ALIAS"])[0]
    return sku_alias_remember(merchant=tenant.merchant, sku="guard-channel-sku", product=product)
