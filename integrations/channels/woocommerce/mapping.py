"""WooCommerce payloads → our normalized shapes, pure functions (channels-and-carriers.md §2.5, §2.7).

An order arrives as the REST order body, by poll (`GET /orders`) or by webhook (`order.created`/`order.updated`,
whose body is the same JSON), so both meet in one row and an echo changes nothing:
- order external id: the order `id` as a string; number: WooCommerce's `number` (plugins may change it);
  line external id: the line item `id`;
- money through core.parsing.parse_decimal: line `price` is a JSON number, totals are strings; subtotal is the
  lines' `total` (after discounts, before shipping and tax), then `shipping_total`, `total_tax`, `total`;
- times from the `*_gmt` fields (UTC; the others are in the store's own zone);
- an empty SKU is kept as it is: the line is there to be mapped, never a crash;
- statuses (issue 15 §2): `processing` is an order to ship; `pending` and `failed` are not paid
  (`awaiting_payment`: reserves nothing until a later state arrives paid); `cancelled` and `trash` cancel ours;
  `refunded` cancels ours when nothing has shipped and makes it `returned` when something has (`is_refunded`:
  ingest decides); `completed` says the order shipped (`shipped_on_channel`: what we have not shipped ships on
  WooCommerce's word, stock leaving as for any shipment; our own completion coming back changes nothing);
  `checkout-draft` is no order yet (`order_from_wc` answers None); `on-hold` is the channel's hold
  (`channel_hold`: our `on_hold`, keeping its reservations, released when the order moves on); any status a
  plugin adds is kept in words (`fulfillment_status`, the WooCommerce status as given).
- requested service: the first shipping line's `method_title`, as the buyer saw it at checkout;
- names are HTML-entity-decoded (`Ship Your Idea &ndash; Color: Black` reads "Ship Your Idea – Color: Black").

Listings (issue 15 §3): a simple product is one listing; a variable product is its variations only, never the
parent (a variation without a SKU of its own reports its parent's, so listing the parent too would list that
SKU twice); each variation keeps its parent's id in `channel_data`. Grouped and external products hold no stock
and are no listings.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from core.errors import ValidationFailed
from core.parsing import parse_decimal
from integrations.channels.base import ChannelListing
from orders.normalized import NormalizedAddress, NormalizedLine, NormalizedOrder

CHANNEL = "woocommerce"
UNPAID = frozenset({"pending", "failed"})
CANCELLING = frozenset({"cancelled", "trash"})
IGNORED = frozenset({"checkout-draft"})
STOCKLESS_TYPES = frozenset({"grouped", "external"})


class MappingError(ValueError):
    """A payload without what an order or a listing needs (id, created time, a readable amount)."""


# ---------------------------------------------------------------- small parsers


def amount(value: Any, what: str) -> Decimal:
    """A WooCommerce amount (JSON number or string; null or "" is nothing) as a Decimal."""
    if value is None or value == "":
        return Decimal("0")
    try:
        return parse_decimal(value, field=what)
    except ValidationFailed as exc:
        raise MappingError(f"{what} is not an amount: {value!r}") from exc


def gmt_time(value: Any) -> datetime | None:
    """A `*_gmt` date (`YYYY-MM-DDTHH:MM:SS`, no offset, UTC) as an aware datetime."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingError(f"not a date: {value!r}") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _text(value: Any) -> str:
    return "" if value is None else html.unescape(str(value)).strip()


def _person(bag: Mapping[str, Any]) -> str:
    return " ".join(p for p in (_text(bag.get("first_name")), _text(bag.get("last_name"))) if p)


def _id(value: Any, what: str) -> str:
    text = str(value if value is not None else "").strip()
    if not text.isascii() or not text.isdigit() or text == "0":
        raise MappingError(f"{what} is not a WooCommerce id: {value!r}")
    return text


# ---------------------------------------------------------------- orders


def _address(body: Mapping[str, Any]) -> NormalizedAddress:
    """The shipping address; the billing one when the order has none (WooCommerce leaves shipping empty
    for an order that needs no shipping address)."""
    billing = body.get("billing") or {}
    shipping = body.get("shipping") or {}
    bag = shipping if _text(shipping.get("address_1")) else billing
    return NormalizedAddress(
        name=_person(bag), company=_text(bag.get("company")), line1=_text(bag.get("address_1")),
        line2=_text(bag.get("address_2")), city=_text(bag.get("city")), region=_text(bag.get("state")),
        postal_code=_text(bag.get("postcode")), country=_text(bag.get("country")).upper(),
        phone=_text(shipping.get("phone")) or _text(billing.get("phone")))


def order_line(item: Mapping[str, Any]) -> NormalizedLine:
    """One `line_items[]` entry. `price` is the unit price (a JSON number in practice); an item without it
    (older stores) is priced from its `subtotal` over its quantity."""
    quantity = int(item.get("quantity") or 0)
    if item.get("price") not in (None, ""):
        unit = amount(item.get("price"), "line price")
    else:
        unit = amount(item.get("subtotal"), "line subtotal") / quantity if quantity else Decimal("0")
    return NormalizedLine(external_id=_id(item.get("id"), "line item id"), sku=_text(item.get("sku")),
                          quantity=quantity, unit_price=unit, title=_text(item.get("name")))


def _payment_status(status: str, body: Mapping[str, Any]) -> str:
    """WooCommerce has no payment status of its own: its order status says it when it is about payment, a
    payment date says paid, and otherwise we do not know (a completed order the merchant typed in)."""
    if status in ("pending", "failed", "refunded"):
        return status
    return "paid" if body.get("date_paid_gmt") or body.get("date_paid") else ""


def order_from_wc(body: Mapping[str, Any]) -> NormalizedOrder | None:
    """A WooCommerce order body as a NormalizedOrder; None for a checkout draft (no order yet)."""
    if not isinstance(body, Mapping):
        raise MappingError("not a WooCommerce order")
    status = _text(body.get("status")).lower()
    if status in IGNORED:
        return None
    placed_at = gmt_time(body.get("date_created_gmt"))
    if placed_at is None:
        raise MappingError("the order has no date_created_gmt")
    external_id = _id(body.get("id"), "order id")
    items = [i for i in body.get("line_items") or [] if isinstance(i, Mapping)]
    lines = [order_line(i) for i in items]
    shipping_lines = [s for s in body.get("shipping_lines") or [] if isinstance(s, Mapping)]
    billing = body.get("billing") or {}
    return NormalizedOrder(
        channel=CHANNEL, external_id=external_id, number=_text(body.get("number")) or external_id,
        placed_at=placed_at, channel_updated_at=gmt_time(body.get("date_modified_gmt")), lines=lines,
        currency=_text(body.get("currency")).upper() or "USD",
        customer_name=_person(billing) or _person(body.get("shipping") or {}),
        customer_email=_text(billing.get("email")), shipping_address=_address(body),
        subtotal=sum((amount(i.get("total"), "line total") for i in items), Decimal("0")),
        shipping=amount(body.get("shipping_total"), "shipping_total"), tax=amount(body.get("total_tax"), "total_tax"),
        total=amount(body.get("total"), "total"),
        payment_status=_payment_status(status, body), fulfillment_status=status,
        is_cancelled=status in CANCELLING, awaiting_payment=status in UNPAID, channel_hold=status == "on-hold",
        shipped_on_channel=status == "completed", is_refunded=status == "refunded",
        requested_service=_text(shipping_lines[0].get("method_title")) if shipping_lines else "",
        raw=dict(body))


# ---------------------------------------------------------------- listings


@dataclass(frozen=True)
class WooListing:
    """One sellable WooCommerce item with stock: a simple product or a variation. `quantity` is None while
    WooCommerce does not manage its stock (`manage_stock` false: it ignores any quantity we send until we
    turn it on). `channel_data` keeps what a push needs: the parent of a variation (its batch endpoint)."""

    external_id: str
    sku: str
    title: str
    quantity: int | None
    manage_stock: bool
    channel_data: dict[str, Any] = field(default_factory=dict)


def _managed(value: Any) -> bool:
    """`manage_stock` is a boolean, or "parent" for a variation whose stock its parent keeps: then the
    variation's own quantity is not what WooCommerce sells from, so it counts as not managed here."""
    return value is True


def _quantity(item: Mapping[str, Any]) -> int | None:
    if not _managed(item.get("manage_stock")) or item.get("stock_quantity") is None:
        return None
    try:
        return int(item["stock_quantity"])
    except (TypeError, ValueError) as exc:
        raise MappingError(f"stock_quantity is not a number: {item['stock_quantity']!r}") from exc


def listing_from_variation(variation: Mapping[str, Any], *, parent_id: Any = None,
                           parent_name: str = "") -> WooListing:
    """A variation (from `/products/{id}/variations`, or a `product.updated` body of type "variation",
    which carries `parent_id` itself)."""
    parent = _id(parent_id if parent_id is not None else variation.get("parent_id"), "parent id")
    options = ", ".join(_text(a.get("option")) for a in variation.get("attributes") or [] if isinstance(a, Mapping)
                        and a.get("option"))
    title = _text(variation.get("name")) or " - ".join(p for p in (_text(parent_name), options) if p)
    return WooListing(external_id=_id(variation.get("id"), "variation id"), sku=_text(variation.get("sku")),
                      title=title, quantity=_quantity(variation), manage_stock=_managed(variation.get("manage_stock")),
                      channel_data={"parent_id": int(parent), "type": "variation"})


def listings_from_product(product: Mapping[str, Any], variations: Iterable[Mapping[str, Any]] = ()) -> list[WooListing]:
    """A product as listings: itself when simple, its `variations` when variable (never the parent), none
    for grouped and external products. A `product.updated` body of a variation maps to that variation."""
    if not isinstance(product, Mapping) or not product.get("id"):
        raise MappingError("not a WooCommerce product")
    kind = _text(product.get("type")).lower() or "simple"
    if kind == "variation":
        return [listing_from_variation(product)]
    if kind == "variable":
        return [listing_from_variation(v, parent_id=product["id"], parent_name=_text(product.get("name")))
                for v in variations]
    if kind in STOCKLESS_TYPES:
        return []
    return [WooListing(external_id=_id(product.get("id"), "product id"), sku=_text(product.get("sku")),
                       title=_text(product.get("name")), quantity=_quantity(product),
                       manage_stock=_managed(product.get("manage_stock")), channel_data={"type": kind})]


def channel_listing(item: WooListing) -> ChannelListing:
    """A WooListing in the adapter interface's shape. `channel_data` also says whether WooCommerce manages the
    item's stock (the doctor names those it does not: we turn it on with our first push)."""
    return ChannelListing(external_id=item.external_id, channel_ref=item.external_id, sku=item.sku, title=item.title,
                          quantity=item.quantity, channel_data={**item.channel_data, "manage_stock": item.manage_stock})
