"""Seeding a fake shop from Shopify's own recorded and published payloads (/work/shared/realworld/shopify/).

Products and variants come from `rest_product_with_variants_fixture.json` (the iPod Nano with four colour
SKUs), customers and addresses from the 2025-10 REST order, and `order_from_rest` turns any REST order body
(the recorded EUR test-store order, for one) into a fake order with its own ids.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from .schema import REALWORLD_DIR
from .state import FakeOrder, LineItem, Product, ShippingLine, ShopState, new_id


@cache
def realworld(name: str) -> Any:
    """A payload file, parsed once; the request/response pairs are unwrapped to the response body."""
    data = json.loads((REALWORLD_DIR / name).read_text())
    if isinstance(data, dict) and "response" in data and "request" in data:
        return data["response"]["body"]
    return data


def seed_catalog(shop: ShopState, *, copies: int = 1, available: int | None = None) -> list[Product]:
    """The fixture product `copies` times. Copy 0 keeps the recorded SKUs (IPOD2008PINK, ...); copy n
    suffixes them `-n`, so `copies=2500` gives 10,000 distinct SKUs for the push benchmark. Stock per
    variant is the recorded `inventory_quantity` unless `available` is given."""
    recorded = realworld("rest_product_with_variants_fixture.json")["product"]
    products = []
    for copy in range(copies):
        suffix = f"-{copy}" if copy else ""
        variants = [{"sku": v["sku"] + suffix if v["sku"] else None, "title": v["title"], "price": v["price"],
                     "available": v["inventory_quantity"] if available is None else available}
                    for v in recorded["variants"]]
        products.append(shop.add_product(recorded["title"] + suffix, variants, vendor=recorded.get("vendor") or "",
                                         product_type=recorded.get("product_type") or ""))
    return products


def _customer_and_address() -> tuple[dict, dict]:
    order = realworld("rest_get_order_single_2025-10.json")["order"]
    customer = {k: order["customer"].get(k) for k in ("id", "email", "first_name", "last_name", "phone")}
    return customer, dict(order["shipping_address"])


def seed_orders(shop: ShopState, count: int, *, start: datetime | None = None, step: timedelta = timedelta(minutes=3),
                lines: int = 2, quantity: int = 1, first_number: int = 1001, currency: str | None = None,
                offset: int = 0) -> list[FakeOrder]:
    """`count` paid, unfulfilled orders whose lines cycle through the shop's variants (seed the catalog
    first), created `step` apart from `start`, starting `offset` lines into the cycle. Customer and address are the recorded 2025-10 order's, with
    a distinct customer id and e-mail per order."""
    variants = sorted(shop.variants.values(), key=lambda v: v.id)
    if not variants:
        raise ValueError("seed_catalog(shop) first: orders are made of the shop's variants")
    start = start or datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    customer, address = _customer_and_address()
    orders = []
    for n in range(count):
        created = start + step * n
        items = []
        for k in range(lines):
            variant = variants[(offset + n * lines + k) % len(variants)]
            product = shop.products[variant.product_id]
            items.append(LineItem(id=new_id(), sku=variant.sku, title=product.title, variant_title=variant.title,
                                  quantity=quantity, price=variant.price, variant_id=variant.id,
                                  product_id=product.id, vendor=product.vendor or None, grams=200))
        person = dict(customer, id=customer["id"] + n, email=f"customer{n}@mail.example.com")
        number = first_number + len(shop.orders)
        orders.append(shop.add_order(FakeOrder(
            id=new_id(), name=f"#{number}", number=number, email=person["email"], created_at=created,
            updated_at=created, currency=currency or shop.currency, line_items=items, customer=person,
            shipping_address=address, billing_address=address, total_tax=Decimal("0.00"),
            shipping_lines=[ShippingLine(id=new_id(), title="Standard", code="STD", price=Decimal("10.00"))])))
    return orders


def order_from_rest(shop: ShopState, body: dict, *, created_at: datetime | None = None) -> FakeOrder:
    """A REST order body (as recorded) as a fake order with fresh ids; its lines are linked to the shop's
    variants when a SKU matches, as Shopify links them by variant."""
    by_sku = {v.sku: v for v in shop.variants.values() if v.sku}

    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    items = []
    for line in body["line_items"]:
        variant = by_sku.get(line.get("sku"))
        items.append(LineItem(id=new_id(), sku=line.get("sku"), title=line["title"],
                              variant_title=line.get("variant_title"), quantity=line["quantity"],
                              price=Decimal(line["price"]), variant_id=variant.id if variant else None,
                              product_id=variant.product_id if variant else None, vendor=line.get("vendor"),
                              requires_shipping=line.get("requires_shipping", True),
                              taxable=line.get("taxable", True), grams=line.get("grams") or 0))
    created = created_at or when(body["created_at"])
    shipping = [ShippingLine(id=new_id(), title=s.get("title") or "", price=Decimal(s.get("price") or "0"),
                             code=s.get("code"), source=s.get("source"),
                             carrier_identifier=s.get("carrier_identifier"), is_removed=bool(s.get("is_removed")))
                for s in body.get("shipping_lines") or []]
    financial = (body.get("financial_status") or "pending").upper()
    customer = body.get("customer")
    return shop.add_order(FakeOrder(
        id=new_id(), name=body["name"], number=body.get("order_number") or 1000, email=body.get("email"),
        created_at=created, updated_at=created_at or when(body["updated_at"]), currency=body["currency"],
        line_items=items, financial_status=financial, cancelled_at=when(body.get("cancelled_at")),
        customer={k: customer.get(k) for k in ("id", "email", "first_name", "last_name", "phone")} if customer else None,
        shipping_address=body.get("shipping_address"), billing_address=body.get("billing_address"),
        total_tax=Decimal(body.get("total_tax") or "0"), total_discounts=Decimal(body.get("total_discounts") or "0"),
        shipping_lines=shipping, taxes_included=bool(body.get("taxes_included")), note=body.get("note"),
        tags=[t.strip() for t in (body.get("tags") or "").split(",") if t.strip()], test=bool(body.get("test")),
    ))
