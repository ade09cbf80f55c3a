"""The fake's data: plain Python objects a test seeds before a run and inspects after it.

Orders are kept as typed fields and rendered two ways: as GraphQL objects (graph.py) and as the REST
body a webhook carries (`FakeOrder.to_rest`), so a poll and a webhook describe the same order with the
same numeric ids, as on Shopify.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# Restore rate per plan is Shopify's current table (§1.4); the bucket sizes are 20x the restore rate,
# which matches the 2,000/100 pair Shopify shows for Standard (the larger plans' sizes are a guess).
PLANS: dict[str, tuple[float, float]] = {
    "standard": (2000.0, 100.0),
    "advanced": (4000.0, 200.0),
    "plus": (20000.0, 1000.0),
    "enterprise": (40000.0, 2000.0),
}
PLAN_NAMES = {"standard": "Basic", "advanced": "Advanced", "plus": "Shopify Plus", "enterprise": "Shopify Plus"}

_ids = itertools.count(7_000_000_001)


def new_id() -> int:
    """Shopify's numeric ids are large and unique across resources; one counter keeps them so."""
    return next(_ids)


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def gid_number(value: str, kind: str) -> int | None:
    """The numeric id inside `gid://shopify/<kind>/<n>`, or None when it is not one of that kind."""
    prefix = f"gid://shopify/{kind}/"
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    tail = value[len(prefix):].split("?", 1)[0]
    return int(tail) if tail.isdigit() else None


class RealClock:
    """Wall-clock seconds: what a client that really sleeps on `Retry-After` or the bucket needs."""

    def time(self) -> float:
        return time.time()


class ManualClock:
    """A clock only the test moves, so bucket refills and token expiry are exact and instant."""

    def __init__(self, start: float | None = None) -> None:
        self.now = start if start is not None else datetime(2026, 11, 2, 12, 0, tzinfo=UTC).timestamp()

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class App:
    client_id: str
    client_secret: str
    title: str = "Switchboard"


@dataclass
class Token:
    value: str
    shop: str
    client_id: str
    scopes: list[str]
    expires_at: float | None = None
    revoked: bool = False

    def live(self, now: float) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


@dataclass
class RefreshToken:
    value: str
    shop: str
    client_id: str
    scopes: list[str]
    expires_at: float
    used: bool = False


@dataclass
class AuthCode:
    code: str
    shop: str
    client_id: str
    scopes: list[str]
    redirect_uri: str
    used: bool = False


@dataclass
class Location:
    id: int
    name: str
    is_active: bool = True
    is_primary: bool = False
    address1: str = "1 Example St"
    city: str = "Springfield"
    zip: str = "97477"
    country_code: str = "US"
    province_code: str = "OR"


@dataclass
class Variant:
    id: int
    product_id: int
    inventory_item_id: int
    sku: str | None
    title: str
    price: Decimal
    barcode: str | None = None
    position: int = 1
    created_at: datetime = field(default_factory=lambda: datetime(2026, 1, 5, tzinfo=UTC))
    updated_at: datetime = field(default_factory=lambda: datetime(2026, 1, 5, tzinfo=UTC))


@dataclass
class Product:
    id: int
    title: str
    handle: str
    vendor: str = ""
    product_type: str = ""
    status: str = "ACTIVE"
    variant_ids: list[int] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime(2026, 1, 5, tzinfo=UTC))
    updated_at: datetime = field(default_factory=lambda: datetime(2026, 1, 5, tzinfo=UTC))


@dataclass
class InventoryItem:
    id: int
    variant_id: int
    sku: str | None
    tracked: bool = True


@dataclass
class LineItem:
    id: int
    sku: str | None
    title: str
    variant_title: str | None
    quantity: int
    price: Decimal
    variant_id: int | None = None
    product_id: int | None = None
    vendor: str | None = None
    requires_shipping: bool = True
    taxable: bool = True
    grams: int = 0

    @property
    def name(self) -> str:
        return f"{self.title} - {self.variant_title}" if self.variant_title else self.title


@dataclass
class ShippingLine:
    """A shipping method the buyer chose at checkout: REST `shipping_lines[]`, GraphQL `ShippingLine`. A line
    removed by an order edit stays on the order, marked `is_removed`, and no longer counts toward shipping."""
    id: int
    title: str
    price: Decimal
    code: str | None = None
    source: str | None = "shopify"
    carrier_identifier: str | None = None
    is_removed: bool = False


@dataclass
class FulfillmentOrderLine:
    id: int
    line_item_id: int
    total_quantity: int
    remaining_quantity: int


@dataclass
class FulfillmentOrder:
    id: int
    order_id: int
    location_id: int
    lines: list[FulfillmentOrderLine]
    status: str = "OPEN"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Fulfillment:
    id: int
    order_id: int
    name: str
    lines: list[tuple[int, int]]  # (line_item_id, quantity)
    tracking: list[dict]  # [{"company", "number", "url"}]
    notify_customer: bool
    created_at: datetime
    updated_at: datetime
    status: str = "SUCCESS"


@dataclass
class FakeOrder:
    id: int
    name: str
    number: int
    email: str | None
    created_at: datetime
    updated_at: datetime
    currency: str
    line_items: list[LineItem]
    financial_status: str = "PAID"  # OrderDisplayFinancialStatus
    fulfillment_status: str = "UNFULFILLED"  # OrderDisplayFulfillmentStatus
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None  # OrderCancelReason (CUSTOMER, DECLINED, FRAUD, INVENTORY, OTHER, STAFF)
    closed_at: datetime | None = None
    customer: dict | None = None  # REST shape: id, email, first_name, last_name, phone
    shipping_address: dict | None = None  # REST shape
    billing_address: dict | None = None
    total_tax: Decimal = Decimal("0.00")
    total_discounts: Decimal = Decimal("0.00")
    shipping_lines: list[ShippingLine] = field(default_factory=list)
    taxes_included: bool = False
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    test: bool = False
    phone: str | None = None
    source_name: str = "web"

    @property
    def current_shipping_lines(self) -> list[ShippingLine]:
        return [s for s in self.shipping_lines if not s.is_removed]

    @property
    def shipping_price(self) -> Decimal:
        return sum((s.price for s in self.current_shipping_lines), Decimal("0.00"))

    @property
    def subtotal(self) -> Decimal:
        return sum((li.price * li.quantity for li in self.line_items), Decimal("0.00")) - self.total_discounts

    @property
    def total(self) -> Decimal:
        tax = Decimal("0.00") if self.taxes_included else self.total_tax
        return self.subtotal + tax + self.shipping_price

    def to_rest(self, fulfillments: list[Fulfillment] | None = None) -> dict:
        """The REST representation a webhook (orders/create, orders/updated) carries (§1.9.6);
        `ShopState.order_rest(order_id)` passes the order's fulfillments."""
        def iso(value: datetime | None) -> str | None:
            return value.isoformat(timespec="seconds") if value else None

        def money(amount: Decimal) -> str:
            return f"{amount:.2f}"

        rest_fulfillment = {"UNFULFILLED": None, "PARTIALLY_FULFILLED": "partial", "FULFILLED": "fulfilled",
                            "RESTOCKED": "restocked"}.get(self.fulfillment_status)
        return {
            "id": self.id,
            "admin_graphql_api_id": gid("Order", self.id),
            "name": self.name,
            "number": self.number - 1000 if self.number > 1000 else self.number,
            "order_number": self.number,
            "email": self.email,
            "phone": self.phone,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "processed_at": iso(self.created_at),
            "cancelled_at": iso(self.cancelled_at),
            "cancel_reason": self.cancel_reason.lower() if self.cancel_reason else None,
            "closed_at": iso(self.closed_at),
            "currency": self.currency,
            "presentment_currency": self.currency,
            "total_price": money(self.total),
            "subtotal_price": money(self.subtotal),
            "total_tax": money(self.total_tax),
            "total_discounts": money(self.total_discounts),
            "taxes_included": self.taxes_included,
            "test": self.test,
            "financial_status": self.financial_status.lower(),
            "fulfillment_status": rest_fulfillment,
            "line_items": [
                {"id": li.id, "admin_graphql_api_id": gid("LineItem", li.id), "variant_id": li.variant_id,
                 "product_id": li.product_id, "sku": li.sku, "title": li.title, "variant_title": li.variant_title,
                 "name": li.name, "quantity": li.quantity, "price": money(li.price), "grams": li.grams,
                 "requires_shipping": li.requires_shipping, "taxable": li.taxable, "vendor": li.vendor,
                 "fulfillment_status": None, "fulfillment_service": "manual", "properties": []}
                for li in self.line_items
            ],
            "shipping_address": self.shipping_address,
            "billing_address": self.billing_address,
            "customer": self.customer,
            "shipping_lines": [
                {"id": s.id, "title": s.title, "code": s.code, "source": s.source, "price": money(s.price),
                 "carrier_identifier": s.carrier_identifier, "is_removed": s.is_removed}
                for s in self.shipping_lines
            ],
            "fulfillments": [
                {"id": f.id, "admin_graphql_api_id": gid("Fulfillment", f.id), "order_id": self.id, "name": f.name,
                 "status": f.status.lower(), "created_at": iso(f.created_at), "updated_at": iso(f.updated_at),
                 "tracking_company": f.tracking[0]["company"] if f.tracking else None,
                 "tracking_number": f.tracking[0]["number"] if f.tracking else None,
                 "tracking_numbers": [t["number"] for t in f.tracking if t["number"]],
                 "tracking_url": f.tracking[0]["url"] if f.tracking else None,
                 "tracking_urls": [t["url"] for t in f.tracking if t["url"]],
                 "line_items": [{"id": line_id, "quantity": qty} for line_id, qty in f.lines]}
                for f in fulfillments or []],
            "note": self.note,
            "tags": ", ".join(self.tags),
            "source_name": self.source_name,
        }


@dataclass
class WebhookSubscription:
    id: int
    topic: str
    uri: str
    format: str = "JSON"
    include_fields: list[str] = field(default_factory=list)
    filter: str | None = None
    name: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class AdjustmentGroup:
    id: int
    created_at: datetime
    reason: str
    reference_document_uri: str | None
    changes: list[dict]  # {"name", "delta", "quantity_after", "item_id", "location_id"}


@dataclass
class Bucket:
    """Shopify's leaky bucket for one app on one shop: charged the requested cost up front, refunded
    the difference to the actual cost afterwards, refilled continuously at `restore_rate`."""

    maximum: float
    restore_rate: float
    available: float
    stamp: float

    def refill(self, now: float) -> None:
        self.available = min(self.maximum, self.available + max(0.0, now - self.stamp) * self.restore_rate)
        self.stamp = now


QUANTITY_NAMES = ("available", "committed", "damaged", "incoming", "on_hand", "quality_control", "reserved",
                  "safety_stock")
UNAVAILABLE_NAMES = ("damaged", "quality_control", "reserved", "safety_stock")


@dataclass
class ShopState:
    domain: str
    name: str
    currency: str = "USD"
    plan: str = "standard"
    email: str = "owner@example.test"
    timezone: str = "America/New_York"
    id: int = field(default_factory=new_id)
    locations: dict[int, Location] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    variants: dict[int, Variant] = field(default_factory=dict)
    inventory_items: dict[int, InventoryItem] = field(default_factory=dict)
    # (inventory_item_id, location_id) -> {quantity name: quantity}; on_hand is derived
    levels: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)
    orders: dict[int, FakeOrder] = field(default_factory=dict)
    fulfillment_orders: dict[int, FulfillmentOrder] = field(default_factory=dict)
    fulfillments: dict[int, Fulfillment] = field(default_factory=dict)
    webhooks: dict[int, WebhookSubscription] = field(default_factory=dict)
    adjustment_groups: list[AdjustmentGroup] = field(default_factory=list)
    # idempotency key -> (fingerprint of the input, the payload returned the first time)
    idempotency: dict[str, tuple[str, dict]] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    bulk_operations: dict = field(default_factory=dict)  # id -> bulk.BulkOperation
    generated_orders: Any = None  # bulk.GeneratedOrders: orders made on the fly (bulk queries and ordersCount)

    def bucket(self, client_id: str, now: float) -> Bucket:
        if client_id not in self.buckets:
            maximum, rate = PLANS[self.plan]
            self.buckets[client_id] = Bucket(maximum=maximum, restore_rate=rate, available=maximum, stamp=now)
        bucket = self.buckets[client_id]
        bucket.refill(now)
        return bucket

    # ---- seeding and inspection helpers (tests call these directly) ----

    def add_location(self, name: str, *, primary: bool | None = None, active: bool = True) -> Location:
        location = Location(id=new_id(), name=name, is_active=active,
                            is_primary=not self.locations if primary is None else primary)
        self.locations[location.id] = location
        return location

    def primary_location(self) -> Location:
        for location in self.locations.values():
            if location.is_primary:
                return location
        return next(iter(self.locations.values()))

    def add_product(self, title: str, variants: list[dict], *, vendor: str = "", product_type: str = "",
                    stock: dict[int, int] | None = None) -> Product:
        """`variants`: dicts with sku, title, price (and optionally barcode, available). Every variant
        gets an inventory item stocked at every location (`available` from the dict or `stock`)."""
        product = Product(id=new_id(), title=title, handle=title.lower().replace(" ", "-"), vendor=vendor,
                          product_type=product_type)
        self.products[product.id] = product
        for position, spec in enumerate(variants, start=1):
            variant = Variant(id=new_id(), product_id=product.id, inventory_item_id=new_id(), sku=spec.get("sku"),
                              title=spec.get("title", "Default Title"), price=Decimal(str(spec["price"])),
                              barcode=spec.get("barcode"), position=position)
            self.variants[variant.id] = variant
            self.inventory_items[variant.inventory_item_id] = InventoryItem(
                id=variant.inventory_item_id, variant_id=variant.id, sku=variant.sku)
            product.variant_ids.append(variant.id)
            for location_id in self.locations:
                available = (stock or {}).get(location_id, spec.get("available", 0))
                self.levels[(variant.inventory_item_id, location_id)] = {"available": int(available), "committed": 0}
        return product

    def variant_by_sku(self, sku: str) -> Variant:
        for variant in self.variants.values():
            if variant.sku == sku:
                return variant
        raise KeyError(sku)

    def quantity(self, inventory_item_id: int, location_id: int, name: str = "available") -> int:
        level = self.levels[(inventory_item_id, location_id)]
        if name == "on_hand":
            return level.get("available", 0) + level.get("committed", 0) + sum(
                level.get(n, 0) for n in UNAVAILABLE_NAMES)
        return level.get(name, 0)

    def set_quantity(self, inventory_item_id: int, location_id: int, value: int, name: str = "available") -> None:
        """A change made on Shopify's side (a sale, a restock in the admin): what a stale
        changeFromQuantity races against."""
        level = self.levels.setdefault((inventory_item_id, location_id), {"available": 0, "committed": 0})
        if name == "on_hand":
            level["available"] += value - self.quantity(inventory_item_id, location_id, "on_hand")
        else:
            level[name] = value

    def add_order(self, order: FakeOrder) -> FakeOrder:
        """Store an order and open its fulfillment order at the primary location, as Shopify does."""
        self.orders[order.id] = order
        lines = [FulfillmentOrderLine(id=new_id(), line_item_id=li.id, total_quantity=li.quantity,
                                      remaining_quantity=li.quantity)
                 for li in order.line_items if li.requires_shipping]
        if lines and self.locations:
            fo = FulfillmentOrder(id=new_id(), order_id=order.id, location_id=self.primary_location().id, lines=lines,
                                  created_at=order.created_at, updated_at=order.created_at)
            self.fulfillment_orders[fo.id] = fo
        return order

    def assign_lines(self, order_id: int, location_id: int, line_item_ids: list[int]) -> FulfillmentOrder:
        """Move unfulfilled lines to a fulfillment order at another location, as Shopify's order routing
        (or a merchant's "change location") does when one location cannot ship everything."""
        moved: list[FulfillmentOrderLine] = []
        for fo in self.fulfillment_orders_of(order_id):
            keep = []
            for fol in fo.lines:
                (moved if fol.line_item_id in line_item_ids and fol.remaining_quantity == fol.total_quantity
                 else keep).append(fol)
            fo.lines = keep
            if not keep:
                fo.status = "CLOSED"
        order = self.orders[order_id]
        fo = FulfillmentOrder(id=new_id(), order_id=order_id, location_id=location_id, lines=moved,
                              created_at=order.created_at, updated_at=order.created_at)
        self.fulfillment_orders[fo.id] = fo
        return fo

    def touch_order(self, order_id: int, when: datetime, **changes) -> FakeOrder:
        """Change an order on Shopify's side; `updated_at` moves, so an incremental poll sees it."""
        order = self.orders[order_id]
        for key, value in changes.items():
            setattr(order, key, value)
        order.updated_at = when
        return order

    def order_rest(self, order_id: int) -> dict:
        """The order's webhook body, fulfillments and tracking included."""
        return self.orders[order_id].to_rest(sorted(self.fulfillments_of(order_id), key=lambda f: f.id))

    def fulfillment_orders_of(self, order_id: int) -> list[FulfillmentOrder]:
        return [fo for fo in self.fulfillment_orders.values() if fo.order_id == order_id]

    def fulfillments_of(self, order_id: int) -> list[Fulfillment]:
        return [f for f in self.fulfillments.values() if f.order_id == order_id]


def random_token(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(16)}"
