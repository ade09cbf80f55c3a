"""Factories for the tenant-isolation guard test: one per model an inventory endpoint serves."""

from __future__ import annotations

from inventory import services
from inventory.models import Location, Product, StockLevel, StockMovement
from inventory.selectors import location_default
from tests.factories import object_factory

_counter = {"n": 0}


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


@object_factory(Product)
def product(tenant):
    return services.product_create(merchant=tenant.merchant, sku=f"GUARD-{_next()}", title="Guarded product")


@object_factory(Location)
def location(tenant):
    return services.location_create(merchant=tenant.merchant, name=f"Guarded {_next()}", code=f"G{_next()}")


@object_factory(StockLevel)
def stock_level(tenant):
    p = product(tenant)
    return StockLevel.objects.get(merchant=tenant.merchant, product=p, location=location_default(merchant=tenant.merchant))


@object_factory(StockMovement)
def stock_movement(tenant):
    p = product(tenant)
    services.stock_adjust(merchant=tenant.merchant, product_id=p.pk, delta=3, reason="received")
    return StockMovement.objects.filter(merchant=tenant.merchant, product=p).latest("id")
