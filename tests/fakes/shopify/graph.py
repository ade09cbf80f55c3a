"""Resolvers: the fake's data as Admin GraphQL objects, and the mutations' rules.

Every object is a dict whose values are plain values or callables `(info, **args)`. A field the fake
does not model is not invented: asking for it is a GraphQL error naming the field, so the next person
extends this file instead of a client silently reading null. Validation and execution are graphql-core's
against Shopify's schema (server.py); what the schema cannot say (scopes, `@idempotent`, the
`changeFromQuantity` key, compare-and-set, the whole-mutation refusal) is enforced here.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, GraphQLNonNull, GraphQLString, value_from_ast

from .schema import API_VERSION
from .state import (
    AdjustmentGroup,
    FakeOrder,
    Fulfillment,
    FulfillmentOrder,
    InventoryItem,
    Location,
    Product,
    ShippingLine,
    ShopState,
    Token,
    Variant,
    WebhookSubscription,
    gid,
    gid_number,
    new_id,
)

MAX_PAGE = 250
CURSOR_TIME = "%Y-%m-%d %H:%M:%S.%f"
# Shopify's documented reason strings for inventory changes.
INVENTORY_REASONS = {
    "correction", "cycle_count_available", "damaged", "movement_created", "movement_updated", "movement_received",
    "movement_canceled", "other", "promotion", "quality_control", "received", "reservation_created",
    "reservation_deleted", "reservation_updated", "restock", "safety_stock", "shrinkage",
}
READ_FULFILLMENT_SCOPES = ("read_merchant_managed_fulfillment_orders", "read_assigned_fulfillment_orders",
                           "read_third_party_fulfillment_orders", "read_marketplace_fulfillment_orders")


@dataclass
class Context:
    shop: ShopState
    token: Token
    now: float
    search_warnings: list[dict] = field(default_factory=list)
    idempotent_replays: int = 0
    fake: Any = None  # the ShopifyFake serving the request (bulk operations need its URL and webhook sink)

    @property
    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now, tz=UTC)


def field_resolver(source: Any, info: Any, **args: Any) -> Any:
    if isinstance(source, dict) and info.field_name in source:
        value = source[info.field_name]
        return value(info, **args) if callable(value) else value
    raise GraphQLError(
        f"The Shopify fake does not model {info.parent_type.name}.{info.field_name}; "
        "extend tests/fakes/shopify/graph.py (the query itself is valid against Shopify's schema)."
    )


# ---------------------------------------------------------------- helpers

def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def money(amount: Decimal, currency: str) -> dict:
    return {"amount": f"{amount:.2f}", "currencyCode": currency}


def money_bag(amount: Decimal, currency: str) -> dict:
    return {"shopMoney": money(amount, currency), "presentmentMoney": money(amount, currency)}


def granted(token: Token) -> set[str]:
    """Shopify's write scopes imply the matching read scope."""
    scopes = set(token.scopes)
    scopes |= {"read_" + s[len("write_"):] for s in token.scopes if s.startswith("write_")}
    return scopes


def need(ctx: Context, info: Any, *scopes: str) -> None:
    if not granted(ctx.token) & set(scopes):
        raise GraphQLError(
            f"Access denied for {info.field_name} field. Required access: `{scopes[0]}` access scope.",
            extensions={"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes",
                        "requiredAccess": f"`{scopes[0]}` access scope."},
        )


def encode_cursor(last_id: int, last_value: Any) -> str:
    """The shape Shopify's cursors have in the recorded response: base64 of {"last_id", "last_value"},
    a timestamp value written as "2022-05-25 13:46:48.000000"."""
    if isinstance(last_value, datetime):
        last_value = last_value.astimezone(UTC).strftime(CURSOR_TIME)
    payload = json.dumps({"last_id": last_id, "last_value": last_value}, separators=(",", ":"))
    return base64.b64encode(payload.encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        value = data["last_value"]
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", value):
            value = datetime.strptime(value, CURSOR_TIME).replace(tzinfo=UTC)
        return value, int(data["last_id"])
    except (ValueError, KeyError, TypeError):
        raise GraphQLError("Invalid cursor for current pagination sort.") from None


def connection(items: list, args: dict, key: Callable[[Any], tuple[Any, int]], view: Callable[[Any], dict]) -> dict:
    """Relay connection over `items` sorted by `key` (a (sort value, id) pair), with Shopify's limits:
    one of first/last is required and a page holds at most 250 nodes."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= MAX_PAGE:
            raise GraphQLError(f"The '{name}' argument must be between 0 and {MAX_PAGE}.",
                               extensions={"code": "BAD_REQUEST"})
    reverse = bool(args.get("reverse"))
    ordered = sorted(items, key=key, reverse=reverse)

    def beyond(item: Any, cursor: tuple[Any, int]) -> bool:
        return key(item) < cursor if reverse else key(item) > cursor

    if args.get("after"):
        cursor = decode_cursor(args["after"])
        ordered = [i for i in ordered if beyond(i, cursor)]
    if args.get("before"):
        cursor = decode_cursor(args["before"])
        ordered = [i for i in ordered if not beyond(i, cursor) and key(i) != cursor]
    has_next = has_previous = False
    if first is not None:
        has_next = len(ordered) > first
        ordered = ordered[:first]
    if last is not None:
        has_previous = len(ordered) > last
        ordered = ordered[len(ordered) - last:] if last else []
    cursors = [encode_cursor(key(i)[1], key(i)[0]) for i in ordered]
    nodes = [view(i) for i in ordered]
    return {
        "nodes": nodes,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "pageInfo": {"hasNextPage": has_next, "hasPreviousPage": has_previous or bool(args.get("after")),
                     "startCursor": cursors[0] if cursors else None, "endCursor": cursors[-1] if cursors else None},
    }


def by_id(item: Any) -> tuple[int, int]:
    return (item.id, item.id)


_TERM = re.compile(r"""(?:(\w+):(>=|<=|>|<)?("[^"]*"|'[^']*'|\S+))|(\S+)""")


def parse_search(query: str | None) -> list[tuple[str | None, str, str]]:
    """Shopify search syntax, the subset clients send: `field:value`, `field:>=value`, quoted values,
    space as AND. Returns (field, operator, value); a bare word has field None."""
    terms = []
    for match in _TERM.finditer(query or ""):
        name, op, value, bare = match.groups()
        if bare is not None:
            if bare.upper() != "AND":
                terms.append((None, ":", bare))
            continue
        terms.append((name, op or ":", value.strip("'\"")))
    return terms


def parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"Invalid date in search query: {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def compare(left: Any, op: str, right: Any) -> bool:
    return {":": left == right, ">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]


def search(ctx: Context, info: Any, items: Iterable, query: str | None,
           fields: dict[str, Callable[[Any, str, str], bool]]) -> list:
    """Filter by the known search fields; an unknown field is ignored with a warning in
    `extensions.search`, which is what Shopify does."""
    terms = parse_search(query)
    known = []
    for name, op, value in terms:
        if name is not None and name in fields:
            known.append((name, op, value))
        else:
            ctx.search_warnings.append({"path": [info.field_name], "query": query,
                                        "warnings": [{"field": name or value,
                                                      "message": "Invalid search field for this query."}]})
    return [item for item in items if all(fields[n](item, op, v) for n, op, v in known)]


# ---------------------------------------------------------------- views

def shop_view(ctx: Context) -> dict:
    shop = ctx.shop
    from .state import PLAN_NAMES
    return {
        "__typename": "Shop", "id": gid("Shop", shop.id), "name": shop.name, "email": shop.email,
        "contactEmail": shop.email, "myshopifyDomain": shop.domain, "currencyCode": shop.currency,
        "ianaTimezone": shop.timezone,
        "plan": {"displayName": PLAN_NAMES[shop.plan], "publicDisplayName": PLAN_NAMES[shop.plan],
                 "partnerDevelopment": False, "shopifyPlus": shop.plan in ("plus", "enterprise")},
        "primaryDomain": {"id": gid("Domain", shop.id), "host": shop.domain, "url": f"https://{shop.domain}",
                          "sslEnabled": True},
    }


def location_view(ctx: Context, location: Location) -> dict:
    return {
        "__typename": "Location", "id": gid("Location", location.id), "legacyResourceId": str(location.id),
        "name": location.name, "isActive": location.is_active, "isPrimary": location.is_primary,
        "shipsInventory": location.is_active, "fulfillsOnlineOrders": location.is_active,
        "hasActiveInventory": True, "isFulfillmentService": False,
        "address": {"address1": location.address1, "address2": None, "city": location.city, "zip": location.zip,
                    "countryCode": location.country_code, "provinceCode": location.province_code,
                    "country": None, "province": None, "phone": None, "latitude": None, "longitude": None},
        "inventoryLevel": lambda info, inventoryItemId, **_: _level_or_none(
            ctx, info, gid_number(inventoryItemId, "InventoryItem"), location.id),
        "inventoryLevels": lambda info, **args: _levels_connection(ctx, info, args, location_id=location.id),
    }


def _level_or_none(ctx: Context, info: Any, item_id: int | None, location_id: int) -> dict | None:
    need(ctx, info, "read_inventory")
    if (item_id, location_id) not in ctx.shop.levels:
        return None
    return level_view(ctx, item_id, location_id)


def _levels_connection(ctx: Context, info: Any, args: dict, *, location_id: int | None = None,
                       item_id: int | None = None) -> dict:
    need(ctx, info, "read_inventory")
    pairs = [(i, loc) for (i, loc) in ctx.shop.levels
             if (location_id is None or loc == location_id) and (item_id is None or i == item_id)]
    return connection(pairs, args, key=lambda p: (p[1] if item_id else p[0], p[1] if item_id else p[0]),
                      view=lambda p: level_view(ctx, p[0], p[1]))


def level_view(ctx: Context, item_id: int, location_id: int) -> dict:
    shop = ctx.shop
    return {
        "__typename": "InventoryLevel",
        "id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}",
        "isActive": True, "canDeactivate": True, "deactivationAlert": None,
        "createdAt": iso(datetime(2026, 1, 5, tzinfo=UTC)), "updatedAt": iso(ctx.now_dt),
        "item": lambda info, **_: item_view(ctx, shop.inventory_items[item_id]),
        "location": lambda info, **_: location_view(ctx, shop.locations[location_id]),
        "quantities": lambda info, names, **_: [
            {"__typename": "InventoryQuantity", "id": f"gid://shopify/InventoryQuantity/{location_id}"
             f"?inventory_item_id={item_id}&name={name}", "name": name,
             "quantity": shop.quantity(item_id, location_id, name), "updatedAt": iso(ctx.now_dt)}
            for name in names],
    }


def item_view(ctx: Context, item: InventoryItem) -> dict:
    shop = ctx.shop
    return {
        "__typename": "InventoryItem", "id": gid("InventoryItem", item.id), "legacyResourceId": str(item.id),
        "sku": item.sku, "tracked": item.tracked, "requiresShipping": True,
        "createdAt": iso(datetime(2026, 1, 5, tzinfo=UTC)), "updatedAt": iso(datetime(2026, 1, 5, tzinfo=UTC)),
        "variant": lambda info, **_: variant_view(ctx, shop.variants[item.variant_id]),
        "inventoryLevel": lambda info, locationId, **_: _level_or_none(
            ctx, info, item.id, gid_number(locationId, "Location")),
        "inventoryLevels": lambda info, **args: _levels_connection(ctx, info, args, item_id=item.id),
    }


def variant_view(ctx: Context, variant: Variant) -> dict:
    shop = ctx.shop
    product = shop.products[variant.product_id]
    return {
        "__typename": "ProductVariant", "id": gid("ProductVariant", variant.id),
        "legacyResourceId": str(variant.id), "sku": variant.sku, "title": variant.title,
        "displayName": f"{product.title} - {variant.title}", "price": f"{variant.price:.2f}",
        "barcode": variant.barcode, "position": variant.position,
        "createdAt": iso(variant.created_at), "updatedAt": iso(variant.updated_at),
        "inventoryQuantity": sum(shop.quantity(variant.inventory_item_id, loc) for loc in shop.locations
                                 if (variant.inventory_item_id, loc) in shop.levels),
        "product": lambda info, **_: product_view(ctx, product),
        "inventoryItem": lambda info, **_: item_view(ctx, shop.inventory_items[variant.inventory_item_id]),
    }


def product_view(ctx: Context, product: Product) -> dict:
    shop = ctx.shop
    variants = [shop.variants[v] for v in product.variant_ids]
    return {
        "__typename": "Product", "id": gid("Product", product.id), "legacyResourceId": str(product.id),
        "title": product.title, "handle": product.handle, "vendor": product.vendor,
        "productType": product.product_type, "status": product.status,
        "createdAt": iso(product.created_at), "updatedAt": iso(product.updated_at), "tracksInventory": True,
        "totalInventory": sum(shop.quantity(v.inventory_item_id, loc) for v in variants for loc in shop.locations
                              if (v.inventory_item_id, loc) in shop.levels),
        "variants": lambda info, **args: connection(variants, args, key=lambda v: (v.position, v.id),
                                                    view=lambda v: variant_view(ctx, v)),
    }


def address_view(address: dict | None, owner: int) -> dict | None:
    if not address:
        return None
    return {
        "__typename": "MailingAddress", "id": f"gid://shopify/MailingAddress/{owner}?model_name=Address",
        "firstName": address.get("first_name"), "lastName": address.get("last_name"), "name": address.get("name"),
        "company": address.get("company"), "address1": address.get("address1"), "address2": address.get("address2"),
        "city": address.get("city"), "province": address.get("province"), "provinceCode": address.get("province_code"),
        "zip": address.get("zip"), "country": address.get("country"), "countryCodeV2": address.get("country_code"),
        "phone": address.get("phone"), "latitude": address.get("latitude"), "longitude": address.get("longitude"),
        "coordinatesValidated": False,
    }


def customer_view(customer: dict | None) -> dict | None:
    if not customer:
        return None
    first, last = customer.get("first_name"), customer.get("last_name")
    return {
        "__typename": "Customer", "id": gid("Customer", customer["id"]), "legacyResourceId": str(customer["id"]),
        "email": customer.get("email"), "firstName": first, "lastName": last, "phone": customer.get("phone"),
        "displayName": " ".join(p for p in (first, last) if p) or customer.get("email") or "",
        "defaultEmailAddress": ({"emailAddress": customer["email"]} if customer.get("email") else None),
    }


def line_item_view(ctx: Context, order: FakeOrder, line) -> dict:
    shop = ctx.shop
    cur = order.currency
    fulfilled = sum(q for f in shop.fulfillments_of(order.id) for (li, q) in f.lines if li == line.id)
    return {
        "__typename": "LineItem", "id": gid("LineItem", line.id), "sku": line.sku, "name": line.name,
        "title": line.title, "variantTitle": line.variant_title, "quantity": line.quantity,
        "currentQuantity": line.quantity, "unfulfilledQuantity": line.quantity - fulfilled,
        "fulfillableQuantity": line.quantity - fulfilled, "requiresShipping": line.requires_shipping,
        "taxable": line.taxable, "vendor": line.vendor, "isGiftCard": False,
        "originalUnitPriceSet": lambda info, **_: money_bag(line.price, cur), "discountedUnitPriceSet": lambda info, **_: money_bag(line.price, cur),
        "originalTotalSet": lambda info, **_: money_bag(line.price * line.quantity, cur),
        "discountedTotalSet": lambda info, **_: money_bag(line.price * line.quantity, cur),
        "variant": lambda info, **_: (variant_view(ctx, shop.variants[line.variant_id])
                                      if line.variant_id in shop.variants else None),
        "product": lambda info, **_: (product_view(ctx, shop.products[line.product_id])
                                      if line.product_id in shop.products else None),
    }


def shipping_line_view(line: ShippingLine, currency: str) -> dict:
    return {
        "__typename": "ShippingLine", "id": gid("ShippingLine", line.id), "title": line.title, "code": line.code,
        "source": line.source, "carrierIdentifier": line.carrier_identifier, "isRemoved": line.is_removed,
        "custom": False, "phone": None, "deliveryCategory": None, "shippingRateHandle": None,
        "originalPriceSet": lambda info, **_: money_bag(line.price, currency),
        "discountedPriceSet": lambda info, **_: money_bag(line.price, currency),
        "currentDiscountedPriceSet": lambda info, **_: money_bag(line.price, currency),
        "taxLines": [], "discountAllocations": [],
    }


def order_view(ctx: Context, order: FakeOrder) -> dict:
    shop = ctx.shop
    cur = order.currency
    lines = order.line_items
    return {
        "__typename": "Order", "id": gid("Order", order.id), "legacyResourceId": str(order.id),
        "name": order.name, "email": order.email, "phone": order.phone, "note": order.note, "tags": order.tags,
        "test": order.test, "sourceName": order.source_name, "taxesIncluded": order.taxes_included,
        "createdAt": iso(order.created_at), "processedAt": iso(order.created_at), "updatedAt": iso(order.updated_at),
        "cancelledAt": iso(order.cancelled_at), "cancelReason": order.cancel_reason,
        "closed": order.closed_at is not None, "closedAt": iso(order.closed_at),
        "currencyCode": cur, "presentmentCurrencyCode": cur,
        "displayFinancialStatus": order.financial_status, "displayFulfillmentStatus": order.fulfillment_status,
        "totalPriceSet": lambda info, **_: money_bag(order.total, cur), "currentTotalPriceSet": lambda info, **_: money_bag(order.total, cur),
        "subtotalPriceSet": lambda info, **_: money_bag(order.subtotal, cur), "totalTaxSet": lambda info, **_: money_bag(order.total_tax, cur),
        "totalDiscountsSet": lambda info, **_: money_bag(order.total_discounts, cur),
        "totalShippingPriceSet": lambda info, **_: money_bag(order.shipping_price, cur),
        "subtotalLineItemsQuantity": sum(li.quantity for li in lines),
        "customer": customer_view(order.customer),
        # The order's shipping line: the buyer's first (and, from a checkout, only) shipping method still on
        # the order. Shopify calls the field a summary of all shipping; what it shows for an order edited to
        # carry several lines is not documented, so the fake answers the first current one.
        "shippingLine": (shipping_line_view(order.current_shipping_lines[0], cur)
                         if order.current_shipping_lines else None),
        "shippingLines": lambda info, includeRemovals=False, **args: connection(
            order.shipping_lines if includeRemovals else order.current_shipping_lines, args, key=by_id,
            view=lambda line: shipping_line_view(line, cur)),
        "shippingAddress": address_view(order.shipping_address, order.id),
        "billingAddress": address_view(order.billing_address, order.id + 1),
        "lineItems": lambda info, **args: connection(lines, args, key=by_id,
                                                     view=lambda li: line_item_view(ctx, order, li)),
        "fulfillmentOrders": lambda info, **args: _order_fulfillment_orders(ctx, info, order, args),
        "fulfillments": lambda info, first=None, **_: [
            fulfillment_view(ctx, f) for f in sorted(shop.fulfillments_of(order.id), key=lambda f: f.id)
        ][:first],
    }


def _order_fulfillment_orders(ctx: Context, info: Any, order: FakeOrder, args: dict) -> dict:
    need(ctx, info, *READ_FULFILLMENT_SCOPES)
    return connection(ctx.shop.fulfillment_orders_of(order.id), args, key=by_id,
                      view=lambda fo: fulfillment_order_view(ctx, fo))


def fulfillment_order_view(ctx: Context, fo: FulfillmentOrder) -> dict:
    shop = ctx.shop
    order = shop.orders[fo.order_id]
    location = shop.locations[fo.location_id]
    lines_by_id = {li.id: li for li in order.line_items}

    def fo_line_view(fol) -> dict:
        line = lines_by_id[fol.line_item_id]
        variant = shop.variants.get(line.variant_id)
        return {
            "__typename": "FulfillmentOrderLineItem", "id": gid("FulfillmentOrderLineItem", fol.id),
            "totalQuantity": fol.total_quantity, "remainingQuantity": fol.remaining_quantity, "sku": line.sku,
            "inventoryItemId": gid("InventoryItem", variant.inventory_item_id) if variant else None,
            "lineItem": lambda info, **_: line_item_view(ctx, order, line),
            "variant": lambda info, **_: variant_view(ctx, variant) if variant else None,
        }

    return {
        "__typename": "FulfillmentOrder", "id": gid("FulfillmentOrder", fo.id), "status": fo.status,
        "requestStatus": "UNSUBMITTED", "orderId": gid("Order", order.id),
        "createdAt": iso(fo.created_at), "updatedAt": iso(fo.updated_at),
        "assignedLocation": {"name": location.name, "countryCode": location.country_code,
                             "address1": location.address1, "address2": None, "city": location.city,
                             "zip": location.zip, "province": None, "phone": None,
                             "location": lambda info, **_: location_view(ctx, location)},
        "order": lambda info, **_: order_view(ctx, order),
        "lineItems": lambda info, **args: connection(fo.lines, args, key=by_id, view=fo_line_view),
    }


def fulfillment_view(ctx: Context, fulfillment: Fulfillment) -> dict:
    shop = ctx.shop
    order = shop.orders[fulfillment.order_id]
    lines_by_id = {li.id: li for li in order.line_items}
    return {
        "__typename": "Fulfillment", "id": gid("Fulfillment", fulfillment.id),
        "legacyResourceId": str(fulfillment.id), "name": fulfillment.name, "status": fulfillment.status,
        "displayStatus": "FULFILLED", "createdAt": iso(fulfillment.created_at),
        "updatedAt": iso(fulfillment.updated_at),
        "trackingInfo": lambda info, first=None, **_: [dict(t) for t in fulfillment.tracking][:first],
        "order": lambda info, **_: order_view(ctx, order),
        "fulfillmentLineItems": lambda info, **args: connection(
            fulfillment.lines, args, key=lambda p: (p[0], p[0]),
            view=lambda p: {"__typename": "FulfillmentLineItem", "id": gid("FulfillmentLineItem", p[0]),
                            "quantity": p[1], "lineItem": line_item_view(ctx, order, lines_by_id[p[0]])}),
    }


def webhook_view(ctx: Context, sub: WebhookSubscription) -> dict:
    return {
        "__typename": "WebhookSubscription", "id": gid("WebhookSubscription", sub.id),
        "legacyResourceId": str(sub.id), "topic": sub.topic, "uri": sub.uri, "callbackUrl": sub.uri,
        "format": sub.format, "includeFields": sub.include_fields, "filter": sub.filter, "name": sub.name,
        "metafieldNamespaces": [], "createdAt": iso(sub.created_at), "updatedAt": iso(sub.updated_at),
        "apiVersion": {"handle": API_VERSION, "displayName": API_VERSION, "supported": True},
        "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": sub.uri},
    }


def adjustment_group_view(ctx: Context, group: AdjustmentGroup) -> dict:
    shop = ctx.shop

    def changes(info: Any, inventoryItemIds=None, locationIds=None, quantityNames=None, **_: Any) -> list:
        items = {gid_number(i, "InventoryItem") for i in inventoryItemIds} if inventoryItemIds else None
        locations = {gid_number(i, "Location") for i in locationIds} if locationIds else None
        return [
            {"name": c["name"], "delta": c["delta"], "quantityAfterChange": c["quantity_after"],
             "ledgerDocumentUri": None,
             "item": item_view(ctx, shop.inventory_items[c["item_id"]]),
             "location": location_view(ctx, shop.locations[c["location_id"]])}
            for c in group.changes
            if (items is None or c["item_id"] in items) and (locations is None or c["location_id"] in locations)
            and (quantityNames is None or c["name"] in quantityNames)
        ]

    return {"__typename": "InventoryAdjustmentGroup", "id": gid("InventoryAdjustmentGroup", group.id),
            "createdAt": iso(group.created_at), "reason": group.reason,
            "referenceDocumentUri": group.reference_document_uri, "changes": changes, "app": None,
            "staffMember": None}


# ---------------------------------------------------------------- root query

def visible_orders(ctx: Context) -> list[FakeOrder]:
    """Without `read_all_orders` Shopify shows only the last 60 days of orders."""
    orders = list(ctx.shop.orders.values())
    if "read_all_orders" not in granted(ctx.token):
        horizon = ctx.now_dt - timedelta(days=60)
        orders = [o for o in orders if o.created_at >= horizon]
    return orders


def _time_filter(attr: str) -> Callable[[Any, str, str], bool]:
    return lambda item, op, value: compare(getattr(item, attr), op, parse_time(value))


ORDER_SEARCH: dict[str, Callable[[FakeOrder, str, str], bool]] = {
    "updated_at": _time_filter("updated_at"),
    "created_at": _time_filter("created_at"),
    "processed_at": _time_filter("created_at"),
    "id": lambda o, op, v: compare(o.id, op, int(v)),
    "name": lambda o, op, v: o.name.lstrip("#") == v.lstrip("#"),
    "email": lambda o, op, v: (o.email or "").lower() == v.lower(),
    "financial_status": lambda o, op, v: o.financial_status.lower() == v.lower(),
    "fulfillment_status": lambda o, op, v: {
        "unshipped": o.fulfillment_status == "UNFULFILLED", "unfulfilled": o.fulfillment_status == "UNFULFILLED",
        "shipped": o.fulfillment_status == "FULFILLED", "fulfilled": o.fulfillment_status == "FULFILLED",
        "partial": o.fulfillment_status == "PARTIALLY_FULFILLED",
    }.get(v.lower(), False),
    "status": lambda o, op, v: {
        "any": True, "open": o.closed_at is None and o.cancelled_at is None, "closed": o.closed_at is not None,
        "cancelled": o.cancelled_at is not None,
    }.get(v.lower(), False),
}

ORDER_SORT: dict[str, Callable[[FakeOrder], tuple[Any, int]]] = {
    "ID": by_id,
    "UPDATED_AT": lambda o: (o.updated_at, o.id),
    "CREATED_AT": lambda o: (o.created_at, o.id),
    "PROCESSED_AT": lambda o: (o.created_at, o.id),
}

SKU_SEARCH = {"sku": lambda x, op, v: (x.sku or "").lower() == v.lower()}


def build_root(ctx: Context) -> dict:
    from . import bulk

    shop = ctx.shop

    def orders(info: Any, **args: Any) -> dict:
        need(ctx, info, "read_orders")
        sort_key = args.get("sortKey", "ID")
        if sort_key not in ORDER_SORT:
            raise GraphQLError(f"The Shopify fake does not model orders(sortKey: {sort_key}).")
        found = search(ctx, info, visible_orders(ctx), args.get("query"), ORDER_SEARCH)
        return connection(found, args, key=ORDER_SORT[sort_key], view=lambda o: order_view(ctx, o))

    def order(info: Any, id: str) -> dict | None:
        need(ctx, info, "read_orders")
        number = gid_number(id, "Order")
        found = next((o for o in visible_orders(ctx) if o.id == number), None)
        return order_view(ctx, found) if found else None

    def locations(info: Any, **args: Any) -> dict:
        need(ctx, info, "read_locations")
        found = [loc for loc in shop.locations.values() if loc.is_active or args.get("includeInactive")]
        return connection(found, args, key=lambda loc: (loc.name, loc.id), view=lambda loc: location_view(ctx, loc))

    def location(info: Any, id: str | None = None) -> dict | None:
        need(ctx, info, "read_locations")
        if id is None:
            return location_view(ctx, shop.primary_location())
        found = shop.locations.get(gid_number(id, "Location"))
        return location_view(ctx, found) if found else None

    def products(info: Any, **args: Any) -> dict:
        need(ctx, info, "read_products")
        fields = {
            "sku": lambda p, op, v: any((shop.variants[x].sku or "").lower() == v.lower() for x in p.variant_ids),
            "updated_at": _time_filter("updated_at"), "status": lambda p, op, v: p.status.lower() == v.lower(),
            "title": lambda p, op, v: p.title.lower() == v.lower(),
        }
        found = search(ctx, info, shop.products.values(), args.get("query"), fields)
        return connection(found, args, key=by_id, view=lambda p: product_view(ctx, p))

    def product_variants(info: Any, **args: Any) -> dict:
        need(ctx, info, "read_products")
        fields = dict(SKU_SEARCH, product_id=lambda v, op, val: v.product_id == int(val),
                      updated_at=_time_filter("updated_at"))
        found = search(ctx, info, shop.variants.values(), args.get("query"), fields)
        return connection(found, args, key=by_id, view=lambda v: variant_view(ctx, v))

    def inventory_items(info: Any, **args: Any) -> dict:
        need(ctx, info, "read_inventory")
        found = search(ctx, info, shop.inventory_items.values(), args.get("query"), SKU_SEARCH)
        return connection(found, args, key=by_id, view=lambda i: item_view(ctx, i))

    def inventory_item(info: Any, id: str) -> dict | None:
        need(ctx, info, "read_inventory")
        found = shop.inventory_items.get(gid_number(id, "InventoryItem"))
        return item_view(ctx, found) if found else None

    def inventory_level(info: Any, id: str) -> dict | None:
        match = re.fullmatch(r"gid://shopify/InventoryLevel/(\d+)\?inventory_item_id=(\d+)", id)
        if not match:
            return None
        return _level_or_none(ctx, info, int(match.group(2)), int(match.group(1)))

    def fulfillment_orders(info: Any, **args: Any) -> dict:
        need(ctx, info, *READ_FULFILLMENT_SCOPES)
        found = [fo for fo in shop.fulfillment_orders.values()
                 if args.get("includeClosed") or fo.status not in ("CLOSED", "CANCELLED")]
        return connection(found, args, key=by_id, view=lambda fo: fulfillment_order_view(ctx, fo))

    def fulfillment_order(info: Any, id: str) -> dict | None:
        need(ctx, info, *READ_FULFILLMENT_SCOPES)
        found = shop.fulfillment_orders.get(gid_number(id, "FulfillmentOrder"))
        return fulfillment_order_view(ctx, found) if found else None

    def webhook_subscriptions(info: Any, **args: Any) -> dict:
        found = list(shop.webhooks.values())
        if args.get("topics"):
            found = [s for s in found if s.topic in args["topics"]]
        address = args.get("uri") or args.get("callbackUrl")
        if address:
            found = [s for s in found if s.uri == address]
        return connection(found, args, key=by_id, view=lambda s: webhook_view(ctx, s))

    def webhook_subscription(info: Any, id: str) -> dict | None:
        found = shop.webhooks.get(gid_number(id, "WebhookSubscription"))
        return webhook_view(ctx, found) if found else None

    def node(info: Any, id: str) -> dict | None:
        kind = id.split("/")[3] if id.startswith("gid://shopify/") and id.count("/") >= 4 else None
        resolvers = {"Order": order, "Location": location, "InventoryItem": inventory_item,
                     "FulfillmentOrder": fulfillment_order, "WebhookSubscription": webhook_subscription,
                     "InventoryLevel": inventory_level,
                     "ProductVariant": lambda info, id: _catalog_node(info, shop.variants, id, "ProductVariant",
                                                                      variant_view),
                     "Product": lambda info, id: _catalog_node(info, shop.products, id, "Product", product_view)}
        return resolvers[kind](info, id=id) if kind in resolvers else None

    def _by(table: dict, id: str, kind: str, view: Callable) -> dict | None:
        found = table.get(gid_number(id, kind))
        return view(ctx, found) if found else None

    def _catalog_node(info: Any, table: dict, id: str, kind: str, view: Callable) -> dict | None:
        need(ctx, info, "read_products")
        return _by(table, id, kind, view)

    return {
        "shop": lambda info: shop_view(ctx),
        "currentAppInstallation": lambda info: {
            "__typename": "AppInstallation", "id": gid("AppInstallation", shop.id),
            "accessScopes": [{"handle": s, "description": s} for s in ctx.token.scopes]},
        "orders": orders, "order": order, "locations": locations, "location": location,
        "products": products, "productVariants": product_variants,
        "product": lambda info, id: _catalog_node(info, shop.products, id, "Product", product_view),
        "productVariant": lambda info, id: _catalog_node(info, shop.variants, id, "ProductVariant", variant_view),
        "inventoryItems": inventory_items, "inventoryItem": inventory_item, "inventoryLevel": inventory_level,
        "fulfillmentOrders": fulfillment_orders, "fulfillmentOrder": fulfillment_order,
        "webhookSubscriptions": webhook_subscriptions, "webhookSubscription": webhook_subscription,
        "node": node, "nodes": lambda info, ids: [node(info, i) for i in ids],
        # mutations
        "inventorySetQuantities": lambda info, input: inventory_set_quantities(ctx, info, input),
        "fulfillmentCreate": lambda info, fulfillment, message=None: fulfillment_create(ctx, info, fulfillment),
        "fulfillmentTrackingInfoUpdate": lambda info, **args: fulfillment_tracking_update(ctx, info, **args),
        "webhookSubscriptionCreate": lambda info, topic, webhookSubscription: webhook_create(
            ctx, info, topic, webhookSubscription),
        "webhookSubscriptionDelete": lambda info, id: webhook_delete(ctx, info, id),
        # bulk operations (bulk.py)
        "bulkOperationRunQuery": lambda info, query, groupObjects: bulk.bulk_run(ctx, info, query, groupObjects),
        "bulkOperation": lambda info, id: bulk.bulk_lookup(ctx.fake, shop, id),
        "currentBulkOperation": lambda info, type="QUERY": (
            bulk.bulk_current(ctx.fake, shop, ctx.token.client_id) if type == "QUERY" else None),
        "bulkOperationCancel": lambda info, id: bulk.bulk_cancel(ctx.fake, shop, id),
        "ordersCount": lambda info, query=None, limit=10000, savedSearchId=None: bulk.orders_count(
            ctx, info, query, limit),
    }


# ---------------------------------------------------------------- mutations

def idempotency_key(info: Any) -> str | None:
    for directive in info.field_nodes[0].directives or ():
        if directive.name.value == "idempotent":
            arg = next((a for a in directive.arguments if a.name.value == "key"), None)
            variables = getattr(info.variable_values, "coerced", info.variable_values)  # graphql-core 3.3
            return value_from_ast(arg.value, GraphQLNonNull(GraphQLString), variables) if arg else None
    return None


def _user_error(field: list[str], message: str, code: str | None = None) -> dict:
    error = {"field": field, "message": message}
    if code is not None:
        error["code"] = code
    return error


def inventory_set_quantities(ctx: Context, info: Any, data: dict) -> dict:
    """Shopify 2026-04+: the `@idempotent` directive and the `changeFromQuantity` key (null allowed)
    are required at run time; a changeFromQuantity that no longer matches is CHANGE_FROM_QUANTITY_STALE;
    any user error refuses the whole mutation (nothing is applied)."""
    need(ctx, info, "write_inventory")
    shop = ctx.shop
    key = idempotency_key(info)
    if key is None:
        raise GraphQLError("The @idempotent directive is required for this mutation.",
                           extensions={"code": "BAD_REQUEST"})
    missing = [str(i) for i, q in enumerate(data["quantities"]) if "changeFromQuantity" not in q]
    if missing:
        raise GraphQLError(
            "changeFromQuantity is required on every quantity since 2026-04 (pass null to opt out of the "
            f"compare-and-set check); missing at quantities {', '.join(missing)}.",
            extensions={"code": "BAD_REQUEST"})
    fingerprint = json.dumps(data, sort_keys=True, default=str)
    if key in shop.idempotency:
        first_fingerprint, outcome = shop.idempotency[key]
        if first_fingerprint != fingerprint:
            return {"inventoryAdjustmentGroup": None, "userErrors": [_user_error(
                [], "The same idempotency key cannot be used with different operation parameters.",
                "IDEMPOTENCY_KEY_PARAMETER_MISMATCH")]}
        if outcome["group"] is None:
            return {"inventoryAdjustmentGroup": None, "userErrors": [_user_error(
                [], "A previous request with this idempotency key failed. Retry with a new idempotency key.",
                "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED")]}
        ctx.idempotent_replays += 1
        return {"inventoryAdjustmentGroup": adjustment_group_view(ctx, outcome["group"]), "userErrors": []}

    errors: list[dict] = []
    name = data["name"]
    if name not in ("available", "on_hand"):
        errors.append(_user_error(["input", "name"], "The quantity name must be either 'available' or 'on_hand'.",
                                  "INVALID_NAME"))
    if data["reason"] not in INVENTORY_REASONS:
        errors.append(_user_error(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON"))
    seen: set[tuple[int, int]] = set()
    resolved: list[tuple[int, int, int]] = []
    for index, quantity in enumerate(data["quantities"]):
        path = ["input", "quantities", str(index)]
        item_id = gid_number(quantity["inventoryItemId"], "InventoryItem")
        location_id = gid_number(quantity["locationId"], "Location")
        if item_id not in shop.inventory_items:
            errors.append(_user_error([*path, "inventoryItemId"], "The specified inventory item could not be found.",
                                      "INVALID_INVENTORY_ITEM"))
            continue
        if location_id not in shop.locations:
            errors.append(_user_error([*path, "locationId"], "The specified location could not be found.",
                                      "INVALID_LOCATION"))
            continue
        if (item_id, location_id) not in shop.levels:
            errors.append(_user_error([*path, "locationId"], "The inventory item is not stocked at the location.",
                                      "INVALID_LOCATION"))
            continue
        if (item_id, location_id) in seen:
            errors.append(_user_error(path, "The combination of inventoryItemId and locationId must be unique.",
                                      "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR"))
            continue
        seen.add((item_id, location_id))
        if quantity["quantity"] > 1_000_000_000:
            errors.append(_user_error([*path, "quantity"], "The quantity can't be higher than 1,000,000,000.",
                                      "INVALID_QUANTITY_TOO_HIGH"))
            continue
        if quantity["quantity"] < -1_000_000_000:
            errors.append(_user_error([*path, "quantity"], "The quantity can't be lower than -1,000,000,000.",
                                      "INVALID_QUANTITY_TOO_LOW"))
            continue
        if name in ("available", "on_hand"):
            change_from = quantity["changeFromQuantity"]
            if change_from is not None and change_from != shop.quantity(item_id, location_id, name):
                errors.append(_user_error([*path, "changeFromQuantity"],
                                          "The changeFromQuantity value does not match persisted value.",
                                          "CHANGE_FROM_QUANTITY_STALE"))
                continue
        resolved.append((item_id, location_id, quantity["quantity"]))

    if errors:
        shop.idempotency[key] = (fingerprint, {"group": None})
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for item_id, location_id, value in resolved:
        delta = value - shop.quantity(item_id, location_id, name)
        shop.set_quantity(item_id, location_id, value, name)
        for changed in ("available", "on_hand"):
            changes.append({"name": changed, "delta": delta, "item_id": item_id, "location_id": location_id,
                            "quantity_after": shop.quantity(item_id, location_id, changed)})
    group = AdjustmentGroup(id=new_id(), created_at=ctx.now_dt, reason=data["reason"],
                            reference_document_uri=data.get("referenceDocumentUri"), changes=changes)
    shop.adjustment_groups.append(group)
    shop.idempotency[key] = (fingerprint, {"group": group})
    return {"inventoryAdjustmentGroup": adjustment_group_view(ctx, group), "userErrors": []}


def _tracking(data: dict | None) -> list[dict]:
    if not data:
        return []
    numbers = data.get("numbers") or ([data["number"]] if data.get("number") else [])
    urls = data.get("urls") or ([data["url"]] if data.get("url") else [])
    return [{"company": data.get("company"), "number": n, "url": urls[i] if i < len(urls) else None}
            for i, n in enumerate(numbers)] or ([{"company": data.get("company"), "number": None, "url": None}]
                                                 if data.get("company") else [])


def fulfillment_create(ctx: Context, info: Any, data: dict) -> dict:
    """fulfillmentCreate: every fulfillment order must exist and be open, every line must belong to it
    and not exceed what remains; otherwise userErrors and nothing changes."""
    need(ctx, info, "write_merchant_managed_fulfillment_orders", "write_assigned_fulfillment_orders",
         "write_third_party_fulfillment_orders")
    shop = ctx.shop
    errors: list[dict] = []
    plan: list[tuple[FulfillmentOrder, list[tuple[Any, int]]]] = []
    for index, group in enumerate(data["lineItemsByFulfillmentOrder"]):
        path = ["fulfillment", "lineItemsByFulfillmentOrder", str(index)]
        fo = shop.fulfillment_orders.get(gid_number(group["fulfillmentOrderId"], "FulfillmentOrder"))
        if fo is None:
            errors.append(_user_error([*path, "fulfillmentOrderId"], "Fulfillment order does not exist."))
            continue
        if fo.status not in ("OPEN", "IN_PROGRESS"):
            errors.append(_user_error([*path, "fulfillmentOrderId"],
                                      f"Fulfillment order {fo.id} has an unfulfillable status= {fo.status.lower()}."))
            continue
        lines = {fol.id: fol for fol in fo.lines}
        wanted = group.get("fulfillmentOrderLineItems")
        picks = ([(lines.get(gid_number(w["id"], "FulfillmentOrderLineItem")), w["quantity"]) for w in wanted]
                 if wanted else [(fol, fol.remaining_quantity) for fol in fo.lines if fol.remaining_quantity])
        for line_index, (fol, qty) in enumerate(picks):
            line_path = [*path, "fulfillmentOrderLineItems", str(line_index)]
            if fol is None:
                errors.append(_user_error([*line_path, "id"], "Fulfillment order line item does not exist."))
            elif qty <= 0 or qty > fol.remaining_quantity:
                errors.append(_user_error([*line_path, "quantity"],
                                          f"Invalid fulfillment order line item quantity requested: {qty} "
                                          f"(remaining {fol.remaining_quantity})."))
        plan.append((fo, picks))
    orders = {fo.order_id for fo, _ in plan}
    if len(orders) > 1:
        errors.append(_user_error(["fulfillment", "lineItemsByFulfillmentOrder"],
                                  "All fulfillment orders must belong to the same order."))
    # The schema's own description of fulfillmentCreate: the fulfillment orders "are associated with the
    # same Order and are assigned to the same Location".
    if len({fo.location_id for fo, _ in plan}) > 1:
        errors.append(_user_error(["fulfillment", "lineItemsByFulfillmentOrder"],
                                  "All fulfillment orders must be assigned to the same location."))
    if errors or not plan:
        return {"fulfillment": None, "userErrors": errors}
    order = shop.orders[orders.pop()]
    now = ctx.now_dt
    fulfilled_lines = []
    for fo, picks in plan:
        for fol, qty in picks:
            fol.remaining_quantity -= qty
            fulfilled_lines.append((fol.line_item_id, qty))
        fo.status = "CLOSED" if all(fol.remaining_quantity == 0 for fol in fo.lines) else "IN_PROGRESS"
        fo.updated_at = now
    fulfillment = Fulfillment(id=new_id(), order_id=order.id,
                              name=f"{order.name}-F{len(shop.fulfillments_of(order.id)) + 1}",
                              lines=fulfilled_lines, tracking=_tracking(data.get("trackingInfo")),
                              notify_customer=bool(data.get("notifyCustomer")), created_at=now, updated_at=now)
    shop.fulfillments[fulfillment.id] = fulfillment
    remaining = sum(fol.remaining_quantity for fo in shop.fulfillment_orders_of(order.id) for fol in fo.lines)
    order.fulfillment_status = "FULFILLED" if remaining == 0 else "PARTIALLY_FULFILLED"
    order.updated_at = now
    return {"fulfillment": fulfillment_view(ctx, fulfillment), "userErrors": []}


def fulfillment_tracking_update(ctx: Context, info: Any, fulfillmentId: str, trackingInfoInput: dict,
                                notifyCustomer: bool | None = None) -> dict:
    need(ctx, info, "write_merchant_managed_fulfillment_orders", "write_assigned_fulfillment_orders",
         "write_third_party_fulfillment_orders")
    fulfillment = ctx.shop.fulfillments.get(gid_number(fulfillmentId, "Fulfillment"))
    if fulfillment is None:
        return {"fulfillment": None, "userErrors": [_user_error(["fulfillmentId"], "Fulfillment does not exist.")]}
    fulfillment.tracking = _tracking(trackingInfoInput)
    fulfillment.updated_at = ctx.now_dt
    ctx.shop.orders[fulfillment.order_id].updated_at = ctx.now_dt
    return {"fulfillment": fulfillment_view(ctx, fulfillment), "userErrors": []}


def webhook_create(ctx: Context, info: Any, topic: str, data: dict) -> dict:
    """`uri` (2025-04+) or the deprecated `callbackUrl`; Shopify accepts only HTTPS (or Pub/Sub and
    EventBridge) addresses and one subscription per topic and address."""
    address = data.get("uri") or data.get("callbackUrl")
    field = ["webhookSubscription", "uri" if data.get("uri") else "callbackUrl"]
    if not address:
        return {"webhookSubscription": None, "userErrors": [_user_error(field, "Address can't be blank")]}
    scheme = address.split(":", 1)[0].lower()
    if scheme not in ("https", "pubsub", "arn"):
        return {"webhookSubscription": None,
                "userErrors": [_user_error(field, f"Address protocol {scheme}:// is not supported")]}
    if any(s.topic == topic and s.uri == address for s in ctx.shop.webhooks.values()):
        return {"webhookSubscription": None,
                "userErrors": [_user_error(field, "Address for this topic has already been taken")]}
    sub = WebhookSubscription(id=new_id(), topic=topic, uri=address, format=data.get("format") or "JSON",
                              include_fields=list(data.get("includeFields") or []), filter=data.get("filter"),
                              name=data.get("name"), created_at=ctx.now_dt, updated_at=ctx.now_dt)
    ctx.shop.webhooks[sub.id] = sub
    return {"webhookSubscription": webhook_view(ctx, sub), "userErrors": []}


def webhook_delete(ctx: Context, info: Any, id: str) -> dict:
    number = gid_number(id, "WebhookSubscription")
    if ctx.shop.webhooks.pop(number, None) is None:
        return {"deletedWebhookSubscriptionId": None,
                "userErrors": [_user_error(["id"], "Webhook subscription does not exist")]}
    return {"deletedWebhookSubscriptionId": id, "userErrors": []}
