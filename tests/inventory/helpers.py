"""Small builders for inventory tests; everything goes through the services."""

from __future__ import annotations

from inventory import services
from inventory.models import Product


def make_product(merchant, sku: str, on_hand: int = 0, **fields) -> Product:
    product = services.product_create(merchant=merchant, sku=sku, title=fields.pop("title", f"Product {sku}"), **fields)
    if on_hand:
        services.stock_adjust(merchant=merchant, product_id=product.pk, delta=on_hand, reason="received")
    return product


def make_bundle(merchant, sku: str, components: list[tuple[Product, int]], **fields) -> Product:
    return services.product_create(
        merchant=merchant, sku=sku, title=fields.pop("title", f"Bundle {sku}"),
        components=[(p.pk, q) for p, q in components], **fields,
    )
