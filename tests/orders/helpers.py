"""Builders for orders tests: normalized orders as a channel adapter would produce them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from inventory import selectors as inventory_selectors
from inventory.models import Location, StockLevel
from orders.normalized import NormalizedAddress, NormalizedLine, NormalizedOrder

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def normalized(external_id: str = "1001", lines=(("L1", "A-1", 2),), *, updated_minutes: int = 0,
               channel: str = "shopify", cancelled: bool = False, **extra) -> NormalizedOrder:
    """lines: (line id, sku, quantity) tuples; updated_minutes moves channel_updated_at after T0."""
    norm_lines = tuple(NormalizedLine(external_id=lid, sku=sku, quantity=q, unit_price=Decimal("10.00"),
                                      title=f"Item {sku}") for lid, sku, q in lines)
    total = sum((line.unit_price * line.quantity for line in norm_lines), Decimal("0"))
    values = dict(
        channel=channel, external_id=external_id, number=f"#{external_id}", placed_at=T0,
        channel_updated_at=T0 + timedelta(minutes=updated_minutes), lines=norm_lines, currency="USD",
        customer_name="Ada Lovelace", customer_email="ada@example.com",
        shipping_address=NormalizedAddress(name="Ada Lovelace", line1="1 Main St", city="London", country="GB"),
        subtotal=total, total=total, is_cancelled=cancelled, raw={"id": external_id, "source": "test"},
    )
    values.update(extra)
    return NormalizedOrder(**values)


def level(merchant, product) -> StockLevel:
    loc = Location.objects.get(merchant=merchant, is_default=True)
    return StockLevel.objects.get(merchant=merchant, product=product, location=loc)


def reserved_for(merchant, line) -> int:
    return inventory_selectors.stock_reserved_for(merchant=merchant, reference=f"order_line:{line.pk}")
