"""Shopify payloads → orders.normalized.NormalizedOrder, pure functions.

An order arrives two ways: a GraphQL node from a poll and a REST body from a webhook. Both map to the
same NormalizedOrder, same ids and same words, so they meet in one row and an echo changes nothing:
- order external id: the numeric order id (`legacyResourceId` in GraphQL, `id` in REST);
- line external id: the numeric line item id (parsed from the GraphQL `id` GID, as 2026-10's `LineItem`
  has no `legacyResourceId`; REST `line_items[].id`);
- money: `Decimal` from Shopify's decimal strings, in the shop currency (`shopMoney`), never a float;
- times in UTC; statuses lower-case in GraphQL's words (`paid`, `partially_fulfilled`), REST's
  `partial`/null fulfillment statuses translated;
- requested service: the title of the order's shipping line, as the buyer saw it at checkout (GraphQL
  `shippingLine.title`; REST the first `shipping_lines[]` entry not `is_removed`). A checkout gives an order
  one shipping line; an order edited to carry several keeps the first current one, which is what GraphQL's
  `shippingLine` shows as far as we know (Shopify documents it only as the order's shipping summary). The
  title, not `code`: codes are rate handles or repeat the title ("Free Shipping", "DHL" in the recorded
  orders), and the title is what the merchant and the buyer read;
- no ship-by: Shopify's only deadline is `FulfillmentOrder.fulfillBy`, absent from the webhook's order body,
  so reading it on the poll alone would make a poll and a webhook of one order disagree (and the order
  churn); the merchant's default ship-by applies (orders.services.ship_by).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.channels.base import ChannelListing
from orders.normalized import NormalizedAddress, NormalizedLine, NormalizedOrder

CHANNEL = "shopify"
_REST_FULFILLMENT = {None: "unfulfilled", "": "unfulfilled", "partial": "partially_fulfilled",
                     "fulfilled": "fulfilled", "restocked": "restocked"}


class MappingError(ValueError):
    """A payload without what an order needs (id, name, created time)."""


def gid_number(value: str | int | None) -> str:
    """The numeric id inside `gid://shopify/<Kind>/<n>` (query string dropped), or the value itself
    when it is already numeric."""
    if value is None:
        raise MappingError("missing id")
    text = str(value)
    if text.startswith("gid://"):
        text = text.rsplit("/", 1)[-1].split("?", 1)[0]
    if not text.isascii() or not text.isdigit():
        raise MappingError(f"not a Shopify id: {value!r}")
    return text


def to_gid(kind: str, number: str | int) -> str:
    text = str(number)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


def _money(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise MappingError(f"not an amount: {value!r}") from exc


def _shop_money(bag: Mapping | None) -> tuple[Decimal, str]:
    """GraphQL `MoneyBag { shopMoney { amount currencyCode } }` → (amount, currency or "")."""
    shop_money = (bag or {}).get("shopMoney") or {}
    return _money(shop_money.get("amount")), shop_money.get("currencyCode") or ""


def _rest_money_set(bag: Mapping | None) -> Decimal | None:
    shop_money = (bag or {}).get("shop_money")
    return _money(shop_money.get("amount")) if shop_money else None


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _person(first: Any, last: Any) -> str:
    return " ".join(p for p in (_text(first), _text(last)) if p)


# ---------------------------------------------------------------- GraphQL


def _graphql_address(address: Mapping | None) -> NormalizedAddress:
    if not address:
        return NormalizedAddress()
    return NormalizedAddress(
        name=_text(address.get("name")) or _person(address.get("firstName"), address.get("lastName")),
        company=_text(address.get("company")), line1=_text(address.get("address1")),
        line2=_text(address.get("address2")), city=_text(address.get("city")),
        region=_text(address.get("provinceCode")) or _text(address.get("province")),
        postal_code=_text(address.get("zip")), country=_text(address.get("countryCodeV2")).upper(),
        phone=_text(address.get("phone")))


def _graphql_service(node: Mapping) -> str:
    return _text((node.get("shippingLine") or {}).get("title"))


def graphql_line(node: Mapping) -> NormalizedLine:
    price, _ = _shop_money(node.get("originalUnitPriceSet"))
    return NormalizedLine(external_id=gid_number(node.get("id")), sku=_text(node.get("sku")),
                          quantity=int(node.get("quantity") or 0), unit_price=price,
                          title=_text(node.get("name")) or _text(node.get("title")))


def order_from_graphql(node: Mapping, line_nodes: Iterable[Mapping] | None = None) -> NormalizedOrder:
    """A GraphQL `Order` node. `line_nodes` are all its line items when the caller paged them; otherwise
    the node's own `lineItems` (nodes or edges) are used, and an order queried without them has none."""
    if line_nodes is None:
        connection = node.get("lineItems") or {}
        line_nodes = connection.get("nodes") or [e["node"] for e in connection.get("edges") or []]
    external_id = gid_number(node.get("legacyResourceId") or node.get("id"))
    created = _time(node.get("createdAt"))
    if created is None or not node.get("name"):
        raise MappingError(f"order {external_id}: name and createdAt are required")
    total, total_currency = _shop_money(node.get("totalPriceSet"))
    subtotal, _ = _shop_money(node.get("subtotalPriceSet"))
    tax, _ = _shop_money(node.get("totalTaxSet"))
    shipping, _ = _shop_money(node.get("totalShippingPriceSet"))
    customer = node.get("customer") or {}
    address = _graphql_address(node.get("shippingAddress"))
    return NormalizedOrder(
        channel=CHANNEL, external_id=external_id, number=_text(node["name"]), placed_at=created,
        lines=tuple(graphql_line(n) for n in line_nodes),
        currency=(node.get("currencyCode") or total_currency or "").upper(),
        channel_updated_at=_time(node.get("updatedAt")),
        customer_name=_person(customer.get("firstName"), customer.get("lastName")) or address.name,
        customer_email=_text(node.get("email")) or _text(customer.get("email")),
        shipping_address=address, subtotal=subtotal, shipping=shipping, tax=tax, total=total,
        payment_status=_text(node.get("displayFinancialStatus")).lower(),
        fulfillment_status=_text(node.get("displayFulfillmentStatus")).lower(),
        is_cancelled=bool(node.get("cancelledAt")), requested_service=_graphql_service(node), raw=dict(node))


# ---------------------------------------------------------------- REST (webhook bodies)


def _rest_address(address: Mapping | None) -> NormalizedAddress:
    if not address:
        return NormalizedAddress()
    return NormalizedAddress(
        name=_text(address.get("name")) or _person(address.get("first_name"), address.get("last_name")),
        company=_text(address.get("company")), line1=_text(address.get("address1")),
        line2=_text(address.get("address2")), city=_text(address.get("city")),
        region=_text(address.get("province_code")) or _text(address.get("province")),
        postal_code=_text(address.get("zip")), country=_text(address.get("country_code")).upper(),
        phone=_text(address.get("phone")))


def _rest_service(body: Mapping) -> str:
    """The first shipping line still on the order, as GraphQL's `shippingLine` (see the module docstring)."""
    current = [s for s in body.get("shipping_lines") or [] if isinstance(s, Mapping) and not s.get("is_removed")]
    return _text(current[0].get("title")) if current else ""


def rest_line(line: Mapping) -> NormalizedLine:
    return NormalizedLine(external_id=gid_number(line.get("id")), sku=_text(line.get("sku")),
                          quantity=int(line.get("quantity") or 0), unit_price=_money(line.get("price")),
                          title=_text(line.get("name")) or _text(line.get("title")))


def order_from_rest(body: Mapping) -> NormalizedOrder:
    """A REST order body (orders/create, orders/updated, orders/cancelled webhooks; `{"order": ...}`
    envelopes are unwrapped)."""
    if "order" in body and isinstance(body["order"], Mapping):
        body = body["order"]
    external_id = gid_number(body.get("id"))
    created = _time(body.get("created_at"))
    if created is None or not body.get("name"):
        raise MappingError(f"order {external_id}: name and created_at are required")
    shipping = _rest_money_set(body.get("total_shipping_price_set"))
    if shipping is None:
        shipping = sum((_money(s.get("price")) for s in body.get("shipping_lines") or []
                        if isinstance(s, Mapping) and not s.get("is_removed")), Decimal("0"))
    customer = body.get("customer") or {}
    address = _rest_address(body.get("shipping_address"))
    return NormalizedOrder(
        channel=CHANNEL, external_id=external_id, number=_text(body["name"]), placed_at=created,
        lines=tuple(rest_line(li) for li in body.get("line_items") or []),
        currency=_text(body.get("currency")).upper(),
        channel_updated_at=_time(body.get("updated_at")),
        customer_name=_person(customer.get("first_name"), customer.get("last_name")) or address.name,
        customer_email=_text(body.get("email")) or _text(customer.get("email")),
        shipping_address=address, subtotal=_money(body.get("subtotal_price")), shipping=shipping,
        tax=_money(body.get("total_tax")), total=_money(body.get("total_price")),
        payment_status=_text(body.get("financial_status")).lower(),
        fulfillment_status=_REST_FULFILLMENT.get(body.get("fulfillment_status"),
                                                 _text(body.get("fulfillment_status")).lower()),
        is_cancelled=bool(body.get("cancelled_at")), requested_service=_rest_service(body), raw=dict(body))


def listings_from_rest_product(body: Mapping) -> list[ChannelListing]:
    """A REST-shaped product (the products/update webhook body) as our listings, one per variant; its
    quantity is not in the body (None). MappingError when it is not a product."""
    if not isinstance(body, Mapping) or not isinstance(body.get("variants"), list):
        raise MappingError("not a Shopify product (no variants)")
    title = str(body.get("title") or "")
    items = []
    for variant in body["variants"]:
        if not isinstance(variant, Mapping) or not variant.get("id"):
            continue
        name = str(variant.get("title") or "")
        items.append(ChannelListing(
            external_id=gid_number(variant["id"]),
            channel_ref=gid_number(variant["inventory_item_id"]) if variant.get("inventory_item_id") else "",
            sku=str(variant.get("sku") or "").strip(), quantity=None,
            title=f"{title} - {name}" if name and name != "Default Title" else title))
    return items
