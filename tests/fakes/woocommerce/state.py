"""The fake WooCommerce store's data: API keys, products and variations, orders and their notes,
webhooks and shipment trackings, held as the JSON the REST API answers with (channels-and-carriers.md §2).

Everything here runs under the fake's lock. Dates are kept as WooCommerce keeps them: every resource has a
`date_*_gmt` (UTC) and a `date_*` in the store's own time zone, both ISO-8601 without an offset (§2.1).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.shopify.state import ManualClock, RealClock

WC_DATE = "%Y-%m-%dT%H:%M:%S"
# Order statuses of the REST schema (§2.5); "checkout-draft" exists in core but no list shows it by default.
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash",
                  "checkout-draft")
WEBHOOK_TOPICS = tuple(f"{resource}.{event}" for resource in ("coupon", "customer", "order", "product")
                       for event in ("created", "updated", "deleted", "restored"))


def random_key(prefix: str) -> str:
    return prefix + "".join(secrets.choice(string.hexdigits.lower()) for _ in range(40))


@dataclass
class ApiKey:
    """A REST API key as WooCommerce → Settings → Advanced → REST API issues it. `user_can_edit` is the
    capability of the WordPress user the key belongs to (a shop manager can; a customer's key cannot)."""

    key_id: int
    consumer_key: str
    consumer_secret: str
    permissions: str = "read_write"  # "read" | "write" | "read_write"
    user_can_edit: bool = True
    # WooCommerce keeps used nonces per key as {timestamp: nonce} (class-wc-rest-authentication.php).
    nonces: dict[int, str] = field(default_factory=dict)


@dataclass
class Webhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str = "active"  # "active" | "paused" | "disabled"
    failure_count: int = 0
    pending_delivery: bool = True
    date_created_gmt: datetime | None = None
    date_modified_gmt: datetime | None = None

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1]


def money(value: Any) -> str:
    """WooCommerce's money: a string with two decimals (`dp` 2)."""
    return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"


class StoreState:
    """One WooCommerce store. `timezone` is the store's own zone (Settings → General), which the non-GMT
    dates and a `modified_after` without `dates_are_gmt` are in."""

    def __init__(self, *, clock: RealClock | ManualClock, timezone: str = "Europe/Berlin", currency: str = "EUR",
                 home_url: str = "") -> None:
        self.clock = clock
        self.zone = ZoneInfo(timezone)
        self.currency = currency
        self.home_url = home_url
        self.keys: dict[str, ApiKey] = {}
        self.products: dict[int, dict[str, Any]] = {}  # products and variations (both are posts in WordPress)
        self.own_sku: dict[int, str] = {}  # a variation's own SKU; "" reports its parent's (§2 issue 15 §3)
        self.orders: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.trackings: dict[int, list[dict[str, Any]]] = {}
        self.webhooks: dict[int, Webhook] = {}
        self._next_id = 100
        self._next_item_id = 1000

    # ---------------------------------------------------------------- ids and dates

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def next_item_id(self) -> int:
        self._next_item_id += 1
        return self._next_item_id

    def now_gmt(self) -> datetime:
        """Now, naive UTC, to the second (WordPress stores whole seconds)."""
        return datetime.fromtimestamp(int(self.clock.time()), UTC).replace(tzinfo=None)

    def local(self, gmt: datetime) -> datetime:
        return gmt.replace(tzinfo=UTC).astimezone(self.zone).replace(tzinfo=None)

    def stamp(self, body: dict[str, Any], name: str, gmt: datetime | None) -> None:
        """Set `date_<name>` and `date_<name>_gmt` the way WooCommerce renders them."""
        body[f"date_{name}"] = self.local(gmt).strftime(WC_DATE) if gmt else None
        body[f"date_{name}_gmt"] = gmt.strftime(WC_DATE) if gmt else None

    def touch(self, body: dict[str, Any], at: datetime | None = None) -> None:
        self.stamp(body, "modified", at or self.now_gmt())

    # ---------------------------------------------------------------- keys

    def add_key(self, *, permissions: str = "read_write", user_can_edit: bool = True) -> ApiKey:
        key = ApiKey(key_id=len(self.keys) + 1, consumer_key=random_key("ck_"), consumer_secret=random_key("cs_"),
                     permissions=permissions, user_can_edit=user_can_edit)
        self.keys[key.consumer_key] = key
        return key

    def revoke_key(self, consumer_key: str) -> None:
        """The merchant deleted the key (WooCommerce → REST API → Revoke): it no longer exists."""
        self.keys.pop(consumer_key, None)

    # ---------------------------------------------------------------- catalogue

    def _product_body(self, *, name: str, type_: str, sku: str, parent_id: int = 0, price: Any = "10.00",
                      manage_stock: bool = True, stock_quantity: int | None = 0) -> dict[str, Any]:
        pid = self.next_id()
        body: dict[str, Any] = {
            "id": pid, "name": name, "type": type_, "status": "publish", "parent_id": parent_id, "sku": sku,
            "price": money(price), "regular_price": money(price), "sale_price": "",
            "manage_stock": manage_stock, "stock_quantity": None, "stock_status": "instock", "backorders": "no",
        }
        created = self.now_gmt()
        self.stamp(body, "created", created)
        self.touch(body, created)
        if type_ == "variable":
            body["variations"] = []
            body["manage_stock"] = False
            body["stock_quantity"] = None
        else:
            self.apply_stock(body, {"manage_stock": manage_stock, "stock_quantity": stock_quantity})
        self.products[pid] = body
        return body

    def add_product(self, sku: str, *, name: str | None = None, stock_quantity: int | None = 10,
                    manage_stock: bool = True, price: Any = "10.00") -> dict[str, Any]:
        """A simple product."""
        return self._product_body(name=name or f"Product {sku}", type_="simple", sku=sku, price=price,
                                  manage_stock=manage_stock, stock_quantity=stock_quantity)

    def add_variable_product(self, sku: str, variations: list[dict[str, Any]], *, name: str | None = None,
                             ) -> dict[str, Any]:
        """A variable product and its variations; each variation dict may give `sku` ("" or absent: it has
        none of its own and reports the parent's), `stock_quantity`, `manage_stock`, `price`, `name`."""
        parent = self._product_body(name=name or f"Product {sku}", type_="variable", sku=sku)
        for spec in variations:
            own = spec.get("sku") or ""
            child = self._product_body(
                name=spec.get("name") or f"{parent['name']} - {own or len(parent['variations']) + 1}",
                type_="variation", sku=own or sku, parent_id=parent["id"], price=spec.get("price", "10.00"),
                manage_stock=spec.get("manage_stock", True), stock_quantity=spec.get("stock_quantity", 10))
            self.own_sku[child["id"]] = own
            parent["variations"].append(child["id"])
        return parent

    def variations_of(self, parent_id: int) -> list[dict[str, Any]]:
        return [self.products[vid] for vid in self.products.get(parent_id, {}).get("variations", [])]

    @staticmethod
    def apply_stock(body: dict[str, Any], changes: dict[str, Any]) -> None:
        """WC_Product::validate_props: while `manage_stock` is false the quantity is not kept (it reads
        null whatever was sent); while it is true the stock status follows the quantity."""
        if "manage_stock" in changes:
            body["manage_stock"] = bool(changes["manage_stock"])
        if body["manage_stock"]:
            if "stock_quantity" in changes and changes["stock_quantity"] is not None:
                body["stock_quantity"] = int(changes["stock_quantity"])
            if body["stock_quantity"] is None:
                body["stock_quantity"] = 0
            if body.get("backorders", "no") == "no":
                body["stock_status"] = "instock" if body["stock_quantity"] > 0 else "outofstock"
        else:
            body["stock_quantity"] = None
            if "stock_status" in changes:
                body["stock_status"] = changes["stock_status"]

    # ---------------------------------------------------------------- orders

    def add_order(self, lines: list[tuple[dict[str, Any], int]] | None = None, *, status: str = "processing",
                  created_gmt: datetime | None = None, modified_gmt: datetime | None = None,
                  shipping_total: Any = "4.90", email: str = "ada@example.test", **fields: Any) -> dict[str, Any]:
        """An order as checkout makes it: `lines` are (product or variation body, quantity); a variation's
        line carries its parent as `product_id` and itself as `variation_id`, a simple product's has 0."""
        oid = self.next_id()
        created = created_gmt or self.now_gmt()
        items = []
        subtotal = Decimal("0")
        for product, quantity in lines or []:
            price = Decimal(product["price"])
            total = price * quantity
            subtotal += total
            is_variation = product["type"] == "variation"
            items.append({
                "id": self.next_item_id(), "name": product["name"],
                "product_id": product["parent_id"] if is_variation else product["id"],
                "variation_id": product["id"] if is_variation else 0, "quantity": quantity, "tax_class": "",
                "subtotal": money(total), "subtotal_tax": "0.00", "total": money(total), "total_tax": "0.00",
                "taxes": [], "meta_data": [], "sku": product["sku"],
                # A JSON number, as WooCommerce serializes it in practice (§2.5).
                "price": float(price) if price != price.to_integral() else int(price),
            })
        shipping = Decimal(str(shipping_total))
        address = {"first_name": "Ada", "last_name": "Lovelace", "company": "", "address_1": "1 Example St",
                   "address_2": "", "city": "Berlin", "state": "", "postcode": "10115", "country": "DE"}
        body: dict[str, Any] = {
            "id": oid, "parent_id": 0, "number": str(oid), "order_key": f"wc_order_{secrets.token_hex(6)}",
            "created_via": "checkout", "version": "9.9.0", "status": status, "currency": self.currency,
            "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": money(shipping), "shipping_tax": "0.00",
            "cart_tax": "0.00", "total": money(subtotal + shipping), "total_tax": "0.00", "prices_include_tax": False,
            "customer_id": 0, "customer_note": "",
            "billing": {**address, "email": email, "phone": "+4930000"}, "shipping": dict(address),
            "payment_method": "bacs", "payment_method_title": "Direct bank transfer", "transaction_id": "",
            "meta_data": [], "line_items": items, "tax_lines": [],
            "shipping_lines": [{"id": self.next_item_id(), "method_title": "Flat rate", "method_id": "flat_rate",
                                "total": money(shipping), "total_tax": "0.00", "taxes": [], "meta_data": []}],
            "fee_lines": [], "coupon_lines": [], "refunds": [],
        }
        self.stamp(body, "created", created)
        self.stamp(body, "paid", created if status in ("processing", "completed", "on-hold") else None)
        self.stamp(body, "completed", created if status == "completed" else None)
        body.update(fields)
        self.touch(body, modified_gmt or created)
        self.orders[oid] = body
        return body

    def add_order_payload(self, body: dict[str, Any]) -> dict[str, Any]:
        """A recorded order body as it is (its own id and dates)."""
        order = dict(body)
        self.orders[int(order["id"])] = order
        self._next_id = max(self._next_id, int(order["id"]))
        return order

    def set_order_status(self, order: dict[str, Any], status: str) -> None:
        """What WC_Order::set_status does to the dates: paid on the first paid status, completed on completion."""
        now = self.now_gmt()
        order["status"] = status
        if status in ("processing", "completed") and not order.get("date_paid_gmt"):
            self.stamp(order, "paid", now)
        if status == "completed":
            self.stamp(order, "completed", now)
        self.touch(order, now)
