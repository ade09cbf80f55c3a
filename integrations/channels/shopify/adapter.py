"""Shopify behind the adapter interface (integrations/channels/base.py): the queries and mutations, page
sizes that respect Shopify's costs, and the rules of inventorySetQuantities since 2026-04.

Query cost under Shopify's documented rules (§1.4: an object 1, a connection 2 + first x its node, scalars
0, a mutation 10) is what sizes every page; the tests check the sizes against the fake's cost calculator.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from integrations.channels.base import (
    ChannelAdapter,
    ChannelListing,
    ChannelLocation,
    ConnectionReport,
    Page,
    PushResult,
    QuantityPush,
    TrackingPush,
    TrackingResult,
    WebhookSubscription,
)
from integrations.channels.shopify.carriers import tracking_company
from integrations.channels.shopify.client import MAX_QUERY_COST, ShopifyClient
from integrations.channels.shopify.mapping import gid_number, order_from_graphql, to_gid
from integrations.http import HttpClient, Rejected, Transient
from orders.normalized import NormalizedOrder

# An order re-read across a checkpoint costs nothing (ingest is idempotent); one missed costs an order.
# Shopify's updated_at index lags writes by seconds, so the poll re-reads the last few minutes.
ORDERS_OVERLAP = timedelta(minutes=10)
# Line items fetched with each order; an order with more is completed by paging its own line items.
LINES_PER_ORDER = 10
# One order node: itself 1, four money bags (MoneyBag + MoneyV2) 8, customer 1, shippingAddress 1,
# shippingLine 1, lineItems 2 + LINES_PER_ORDER x (line 1 + originalUnitPriceSet 2).
ORDER_NODE_COST = 1 + 8 + 1 + 1 + 1 + 2 + LINES_PER_ORDER * 3
ORDERS_PER_PAGE = min(250, (MAX_QUERY_COST - 2) // ORDER_NODE_COST)
LINES_PER_PAGE = 250  # order 1 + connection 2 + 250 x 3 = 753
VARIANTS_PER_PAGE = 250  # connection 2 + 250 x (variant 1 + inventoryItem 1) = 502
SET_QUANTITIES_MAX = 250  # Shopify's input array cap
QUANTITY_READS_PER_CALL = 100  # alias (item 1 + level 1 + quantities 1) x 100 = 300
WEBHOOKS_PER_PAGE = 100

_MONEY = "shopMoney { amount currencyCode }"
_LINE_FIELDS = f"id sku name quantity originalUnitPriceSet {{ {_MONEY} }}"
ORDERS_QUERY = f"""query SwitchboardOrders($first: Int!, $after: String, $q: String) {{
  orders(first: $first, after: $after, query: $q, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id legacyResourceId name email createdAt updatedAt cancelledAt
      displayFinancialStatus displayFulfillmentStatus currencyCode
      totalPriceSet {{ {_MONEY} }} subtotalPriceSet {{ {_MONEY} }}
      totalTaxSet {{ {_MONEY} }} totalShippingPriceSet {{ {_MONEY} }}
      customer {{ firstName lastName email }}
      shippingLine {{ title code source }}
      shippingAddress {{ name firstName lastName company address1 address2 city province provinceCode zip countryCodeV2 phone }}
      lineItems(first: {LINES_PER_ORDER}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {_LINE_FIELDS} }} }}
    }}
  }}
}}"""
ORDER_LINES_QUERY = f"""query SwitchboardOrderLines($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: {LINES_PER_PAGE}, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {_LINE_FIELDS} }} }}
  }}
}}"""
CONNECTION_QUERY = """query SwitchboardConnection {
  shop { name }
  currentAppInstallation { accessScopes { handle } }
}"""
LOCATIONS_QUERY = """query SwitchboardLocations($after: String) {
  locations(first: 250, after: $after) { pageInfo { hasNextPage endCursor } nodes { legacyResourceId name isPrimary } }
}"""
VARIANTS_QUERY = """query SwitchboardVariants($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { legacyResourceId sku displayName inventoryQuantity inventoryItem { legacyResourceId } }
  }
}"""
SET_QUANTITIES = """mutation SwitchboardSetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}"""
FULFILLMENT_ORDERS_QUERY = """query SwitchboardFulfillmentOrders($id: ID!) {
  order(id: $id) {
    fulfillments(first: 50) { id trackingInfo(first: 5) { number } }
    fulfillmentOrders(first: 5) { nodes { id status
      lineItems(first: 50) { nodes { id remainingQuantity lineItem { id } } } } }
  }
}"""
FULFILLMENT_CREATE = """mutation SwitchboardFulfil($f: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $f) { fulfillment { id } userErrors { field message } }
}"""
TRACKING_UPDATE = """mutation SwitchboardTracking($id: ID!, $t: FulfillmentTrackingInput!) {
  fulfillmentTrackingInfoUpdate(fulfillmentId: $id, trackingInfoInput: $t, notifyCustomer: true) {
    fulfillment { id } userErrors { field message }
  }
}"""
WEBHOOKS_QUERY = f"""query SwitchboardWebhooks($after: String) {{
  webhookSubscriptions(first: {WEBHOOKS_PER_PAGE}, after: $after) {{
    pageInfo {{ hasNextPage endCursor }} nodes {{ id topic uri }}
  }}
}}"""
WEBHOOK_CREATE = """mutation SwitchboardSubscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri } userErrors { field message }
  }
}"""
WEBHOOK_DELETE = """mutation SwitchboardUnsubscribe($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}"""
OPEN_FULFILLMENT_ORDER = ("OPEN", "IN_PROGRESS")


def topic_enum(topic: str) -> str:
    """"orders/create" → "ORDERS_CREATE"."""
    return topic.replace("/", "_").upper()


def topic_name(enum: str) -> str:
    """"INVENTORY_LEVELS_UPDATE" → "inventory_levels/update" (the resource, then the last word)."""
    resource, _, action = enum.lower().rpartition("_")
    return f"{resource}/{action}" if resource else enum.lower()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Pending:
    index: int
    item: QuantityPush
    change_from: int | None
    reread: bool = False


@dataclass
class ShopifyAdapter(ChannelAdapter):
    required_scopes: ClassVar[tuple[str, ...]] = (
        "read_orders", "read_products", "read_inventory", "write_inventory", "read_locations",
        "read_merchant_managed_fulfillment_orders", "write_merchant_managed_fulfillment_orders")
    webhook_topics: ClassVar[tuple[str, ...]] = (
        "orders/create", "orders/updated", "orders/cancelled", "orders/paid", "products/update",
        "inventory_levels/update", "app/uninstalled")

    # Transport, for tests on a manual clock; adapter_for leaves them at real time.
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    http: HttpClient | None = None
    _client: ShopifyClient | None = field(default=None, init=False, repr=False)

    @property
    def client(self) -> ShopifyClient:
        if self._client is None:
            self._client = ShopifyClient(self.credentials, budget_key=self.budget_key,
                                         on_credentials_changed=self._credentials_changed, http=self.http,
                                         sleep=self.sleep, clock=self.clock)
        return self._client

    def _credentials_changed(self, credentials: dict) -> None:
        self.credentials = dict(credentials)
        self.on_credentials_changed(dict(credentials))

    def _data(self, query: str, variables: dict | None = None, *, operation: str) -> dict:
        return self.client.graphql(query, variables, operation=operation).get("data") or {}

    # ---------------------------------------------------------------- connection

    def test_connection(self) -> ConnectionReport:
        """Shop, granted scopes against `required_scopes` (a write scope implies its read), and the
        locations when the token may read them (a missing scope is reported, not raised)."""
        data = self._data(CONNECTION_QUERY, operation="connection")
        scopes = sorted(s["handle"] for s in (data.get("currentAppInstallation") or {}).get("accessScopes") or [])
        granted = set(scopes) | {"read_" + s[len("write_"):] for s in scopes if s.startswith("write_")}
        missing = [s for s in self.required_scopes if s not in granted]
        locations = self._locations() if "read_locations" in granted else []
        return ConnectionReport(shop_name=(data.get("shop") or {}).get("name") or "", scopes=scopes,
                                missing_scopes=missing, locations=locations)

    def _locations(self) -> list[ChannelLocation]:
        found: list[ChannelLocation] = []
        after = None
        while True:
            page = self._data(LOCATIONS_QUERY, {"after": after}, operation="connection")["locations"]
            found += [ChannelLocation(external_id=str(n["legacyResourceId"]), name=n["name"],
                                      is_primary=bool(n.get("isPrimary"))) for n in page["nodes"]]
            after = self._next(page)
            if after is None:
                return found

    # ---------------------------------------------------------------- listings

    def fetch_listings(self, cursor: str | None = None) -> Page[ChannelListing]:
        page = self._data(VARIANTS_QUERY, {"first": VARIANTS_PER_PAGE, "after": cursor},
                          operation="listings")["productVariants"]
        items = [ChannelListing(external_id=str(n["legacyResourceId"]),
                                inventory_item_id=str((n.get("inventoryItem") or {}).get("legacyResourceId") or ""),
                                sku=(n.get("sku") or "").strip(), title=n.get("displayName") or "",
                                quantity=n.get("inventoryQuantity"))
                 for n in page["nodes"]]
        return Page(items=items, next_cursor=self._next(page))

    @staticmethod
    def _next(connection: dict) -> str | None:
        info = connection.get("pageInfo") or {}
        return info.get("endCursor") if info.get("hasNextPage") else None

    # ---------------------------------------------------------------- orders

    def fetch_orders(self, updated_since: datetime | None, cursor: str | None = None) -> Page[NormalizedOrder]:
        """Orders by UPDATED_AT from `updated_since` minus ORDERS_OVERLAP; pass the same `updated_since`
        with the cursor of the previous page (Shopify's cursors belong to one filter)."""
        query = f"updated_at:>='{_iso(updated_since - ORDERS_OVERLAP)}'" if updated_since else None
        page = self._data(ORDERS_QUERY, {"first": ORDERS_PER_PAGE, "after": cursor, "q": query},
                          operation="orders")["orders"]
        orders = []
        for node in page["nodes"]:
            lines = node.get("lineItems") or {}
            line_nodes = list(lines.get("nodes") or [])
            if self._next(lines):
                line_nodes = self._all_lines(node["id"])
            orders.append(order_from_graphql(node, line_nodes))
        return Page(items=orders, next_cursor=self._next(page))

    def _all_lines(self, order_gid: str) -> list[dict]:
        """Every line item of one order, LINES_PER_PAGE at a time."""
        nodes: list[dict] = []
        after = None
        while True:
            order = self._data(ORDER_LINES_QUERY, {"id": order_gid, "after": after}, operation="orders")["order"]
            connection = (order or {}).get("lineItems") or {}
            nodes += connection.get("nodes") or []
            after = self._next(connection)
            if after is None:
                return nodes

    # ---------------------------------------------------------------- quantities

    def push_quantities(self, items: list[QuantityPush]) -> list[PushResult]:
        """Absolute `available` quantities, SET_QUANTITIES_MAX per call, compare-and-set against
        `previous_quantity`. Shopify refuses the whole mutation when any item has a user error: the refused
        items fail alone (with Shopify's message) and the rest are sent again under a new idempotency key;
        an item whose changeFromQuantity went stale is re-read once and sent with the fresh value."""
        results: dict[int, PushResult] = {}
        pending = []
        for i, item in enumerate(items):
            if not (str(item.inventory_item_id).strip() and str(item.location_external_id).strip()):
                # nothing Shopify could act on: fail it here rather than have it refuse the whole batch
                results[i] = PushResult(item.listing_external_id, ok=False,
                                        error="no Shopify inventory item or location for this listing")
            else:
                pending.append(_Pending(i, item, item.previous_quantity))
        for start in range(0, len(pending), SET_QUANTITIES_MAX):
            self._push_batch(pending[start:start + SET_QUANTITIES_MAX], results)
        return [results[i] for i in range(len(items))]

    def _push_batch(self, batch: list[_Pending], results: dict[int, PushResult]) -> None:
        while batch:
            payload = self._data(SET_QUANTITIES, {"key": str(uuid.uuid4()), "input": {
                "name": "available", "reason": "correction",
                "referenceDocumentUri": f"switchboard://push/{self.budget_key}",
                "quantities": [{"inventoryItemId": to_gid("InventoryItem", p.item.inventory_item_id),
                                "locationId": to_gid("Location", p.item.location_external_id),
                                "quantity": p.item.quantity, "changeFromQuantity": p.change_from}
                               for p in batch]}}, operation="push")["inventorySetQuantities"]
            errors = (payload or {}).get("userErrors") or []
            if not errors:
                for p in batch:
                    results[p.index] = PushResult(p.item.listing_external_id, ok=True,
                                                  channel_quantity=p.item.quantity)
                return
            by_position: dict[int, dict] = {}
            general = []
            for error in errors:
                path = [str(part) for part in error.get("field") or []]
                if len(path) >= 3 and path[:2] == ["input", "quantities"] and path[2].isdigit() \
                        and int(path[2]) < len(batch):
                    by_position.setdefault(int(path[2]), error)
                else:
                    general.append(error)
            if general or not by_position:
                raise Rejected("Shopify refused the quantities: "
                               + "; ".join(str(e.get("message")) for e in general or errors))
            stale = [batch[pos] for pos, e in by_position.items()
                     if e.get("code") == "CHANGE_FROM_QUANTITY_STALE" and not batch[pos].reread]
            fresh = self._read_available(stale)
            reread = {p.index for p in stale}
            dropped = set()
            for pos, error in by_position.items():
                pending = batch[pos]
                if pending.index in reread and fresh.get(pending.index) is not None:
                    pending.change_from = fresh[pending.index]
                    pending.reread = True
                    continue
                dropped.add(pos)
                results[pending.index] = PushResult(pending.item.listing_external_id, ok=False,
                                                    error=str(error.get("message") or error.get("code")),
                                                    channel_quantity=fresh.get(pending.index))
            batch = [p for pos, p in enumerate(batch) if pos not in dropped]

    def _read_available(self, pending: list[_Pending]) -> dict[int, int | None]:
        """Shopify's current `available` per pending item (None when the item is not stocked there)."""
        found: dict[int, int | None] = {}
        for start in range(0, len(pending), QUANTITY_READS_PER_CALL):
            chunk = pending[start:start + QUANTITY_READS_PER_CALL]
            declarations = ", ".join(f"$i{n}: ID!, $l{n}: ID!" for n in range(len(chunk)))
            selections = " ".join(
                f'q{n}: inventoryItem(id: $i{n}) {{ inventoryLevel(locationId: $l{n}) '
                f'{{ quantities(names: ["available"]) {{ name quantity }} }} }}' for n in range(len(chunk)))
            variables: dict[str, Any] = {}
            for n, p in enumerate(chunk):
                variables[f"i{n}"] = to_gid("InventoryItem", p.item.inventory_item_id)
                variables[f"l{n}"] = to_gid("Location", p.item.location_external_id)
            data = self._data(f"query SwitchboardLevels({declarations}) {{ {selections} }}", variables,
                              operation="push")
            for n, p in enumerate(chunk):
                level = (data.get(f"q{n}") or {}).get("inventoryLevel") or {}
                quantities = {q["name"]: q["quantity"] for q in level.get("quantities") or []}
                found[p.index] = quantities.get("available")
        return found

    # ---------------------------------------------------------------- tracking

    def push_tracking(self, push: TrackingPush) -> TrackingResult:
        """A new fulfillment with the shipment's lines and tracking, or, with `previous_fulfillment_id`
        (a void and re-ship), the new tracking on the existing one. Exactly once in effect: a fulfillment
        of this order already carrying this tracking number is ours (an earlier attempt whose answer was
        lost) and is returned instead of fulfilling again."""
        tracking = {"company": tracking_company(push.carrier), "number": push.tracking_number}
        if push.tracking_url:
            tracking["url"] = push.tracking_url
        if push.previous_fulfillment_id:
            result = self._data(TRACKING_UPDATE, {"id": to_gid("Fulfillment", push.previous_fulfillment_id),
                                                  "t": tracking}, operation="tracking")["fulfillmentTrackingInfoUpdate"]
            if result.get("userErrors"):
                raise Rejected("Shopify refused the tracking update: "
                               + "; ".join(str(e.get("message")) for e in result["userErrors"]))
            return TrackingResult(fulfillment_id=gid_number(result["fulfillment"]["id"]))
        order = self._fulfillment_state(push.order_external_id)
        done = self._fulfilled_with(order, push.tracking_number)
        if done is not None:
            return TrackingResult(fulfillment_id=done)
        groups = self._fulfillment_groups(push, order)
        try:
            result = self._data(FULFILLMENT_CREATE, {"f": {
                "notifyCustomer": True, "trackingInfo": tracking, "lineItemsByFulfillmentOrder": groups}},
                operation="tracking")["fulfillmentCreate"]
        except Transient:
            done = self._fulfilled_with(self._fulfillment_state(push.order_external_id), push.tracking_number)
            if done is not None:
                return TrackingResult(fulfillment_id=done)
            raise
        if result.get("userErrors"):
            # A retried create whose first attempt went through is refused for want of quantity: look.
            done = self._fulfilled_with(self._fulfillment_state(push.order_external_id), push.tracking_number)
            if done is not None:
                return TrackingResult(fulfillment_id=done)
            raise Rejected("Shopify refused the fulfillment: "
                           + "; ".join(str(e.get("message")) for e in result["userErrors"]))
        return TrackingResult(fulfillment_id=gid_number(result["fulfillment"]["id"]))

    def _fulfillment_state(self, order_external_id: str) -> dict:
        order = self._data(FULFILLMENT_ORDERS_QUERY, {"id": to_gid("Order", order_external_id)},
                           operation="tracking").get("order")
        if order is None:
            raise Rejected(f"Shopify has no order {order_external_id}")
        return order

    @staticmethod
    def _fulfilled_with(order: dict, tracking_number: str) -> str | None:
        for fulfillment in order.get("fulfillments") or []:
            if any(t.get("number") == tracking_number for t in fulfillment.get("trackingInfo") or []):
                return gid_number(fulfillment["id"])
        return None

    @staticmethod
    def _fulfillment_groups(push: TrackingPush, order: dict) -> list[dict]:
        """lineItemsByFulfillmentOrder for the shipment: each line's quantity taken from the open
        fulfillment orders' remaining quantities; no lines means everything still open."""
        open_orders = [fo for fo in order["fulfillmentOrders"]["nodes"] if fo["status"] in OPEN_FULFILLMENT_ORDER]
        if not push.lines:
            groups = [{"fulfillmentOrderId": fo["id"]} for fo in open_orders
                      if any(li["remainingQuantity"] > 0 for li in fo["lineItems"]["nodes"])]
            if not groups:
                raise Rejected(f"order {push.order_external_id} has nothing left to fulfil")
            return groups
        wanted: dict[str, int] = {}
        for line_id, quantity in push.lines:
            wanted[gid_number(line_id)] = wanted.get(gid_number(line_id), 0) + int(quantity)
        chosen: dict[str, list[dict]] = {}
        for fo in open_orders:
            for li in fo["lineItems"]["nodes"]:
                line_id = gid_number(li["lineItem"]["id"])
                take = min(wanted.get(line_id, 0), li["remainingQuantity"])
                if take > 0:
                    chosen.setdefault(fo["id"], []).append({"id": li["id"], "quantity": take})
                    wanted[line_id] -= take
        short = {line: qty for line, qty in wanted.items() if qty > 0}
        if short:
            raise Rejected(f"order {push.order_external_id}: nothing left to fulfil for line(s) "
                           + ", ".join(f"{line} ({qty})" for line, qty in sorted(short.items())))
        return [{"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": lines} for fo_id, lines in chosen.items()]

    # ---------------------------------------------------------------- webhooks

    def webhooks_list(self) -> list[WebhookSubscription]:
        found: list[WebhookSubscription] = []
        after = None
        while True:
            page = self._data(WEBHOOKS_QUERY, {"after": after}, operation="webhooks")["webhookSubscriptions"]
            found += [WebhookSubscription(id=gid_number(n["id"]), topic=topic_name(n["topic"]), url=n.get("uri") or "")
                      for n in page["nodes"]]
            after = self._next(page)
            if after is None:
                return found

    def webhooks_register(self, url: str, topics: Iterable[str]) -> list[WebhookSubscription]:
        """Subscribe `url` to each topic it is not subscribed to yet; returns the subscriptions of
        `topics` at `url`, old and new."""
        topics = list(topics)
        existing = [s for s in self.webhooks_list() if s.url == url and s.topic in topics]
        have = {s.topic for s in existing}
        for topic in topics:
            if topic in have:
                continue
            result = self._data(WEBHOOK_CREATE, {"topic": topic_enum(topic), "sub": {"uri": url, "format": "JSON"}},
                                operation="webhooks")["webhookSubscriptionCreate"]
            if result.get("userErrors"):
                raise Rejected(f"Shopify refused the {topic} subscription: "
                               + "; ".join(str(e.get("message")) for e in result["userErrors"]))
            sub = result["webhookSubscription"]
            existing.append(WebhookSubscription(id=gid_number(sub["id"]), topic=topic_name(sub["topic"]), url=url))
            have.add(topic)
        return existing

    def webhooks_remove(self, ids: Iterable[str]) -> None:
        """Delete subscriptions; one already gone is not an error (the goal is that it is gone)."""
        for subscription_id in ids:
            result = self._data(WEBHOOK_DELETE, {"id": to_gid("WebhookSubscription", subscription_id)},
                                operation="webhooks")["webhookSubscriptionDelete"]
            errors = [e for e in result.get("userErrors") or [] if "not exist" not in str(e.get("message"))
                      and "not found" not in str(e.get("message")).lower()]
            if errors:
                raise Rejected("Shopify refused to delete the subscription: "
                               + "; ".join(str(e.get("message")) for e in errors))
