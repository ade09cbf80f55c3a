"""Shopify behind the adapter interface (integrations/channels/base.py): the queries and mutations, page
sizes that respect Shopify's costs, and the rules of inventorySetQuantities since 2026-04.

Query cost under Shopify's documented rules (§1.4: an object 1, a connection 2 + first x its node, scalars
0, a mutation 10) is what sizes every page; the tests check the sizes against the fake's cost calculator.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from django.utils.translation import ngettext

from core.http import HttpClient, Rejected, Transient
from integrations.channels.base import (
    BulkExport,
    BulkOrder,
    ChannelAdapter,
    ChannelListing,
    ChannelLocation,
    ConnectionReport,
    Page,
    PushResult,
    QuantityPush,
    SubscriptionReport,
    TrackingPush,
    TrackingResult,
    WebhookSubscription,
)
from integrations.channels.shopify import bulk
from integrations.channels.shopify.carriers import tracking_company
from integrations.channels.shopify.client import MAX_QUERY_COST, ShopifyClient
from integrations.channels.shopify.fields import LINE_FIELDS as _LINE_FIELDS
from integrations.channels.shopify.fields import ORDER_HEAD_FIELDS
from integrations.channels.shopify.mapping import gid_number, order_from_graphql, to_gid
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

# What we read of an order, in the page of orders and in one order alike.
_ORDER_FIELDS = f"""{ORDER_HEAD_FIELDS}      lineItems(first: {LINES_PER_ORDER}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {_LINE_FIELDS} }} }}
"""
ORDERS_QUERY = f"""query SwitchboardOrders($first: Int!, $after: String, $q: String) {{
  orders(first: $first, after: $after, query: $q, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{{_ORDER_FIELDS}    }}
  }}
}}"""
ORDER_QUERY = f"""query SwitchboardOrder($id: ID!) {{
  order(id: $id) {{{_ORDER_FIELDS}  }}
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
    fulfillments(first: 10) { id trackingInfo(first: 5) { number }
      fulfillmentLineItems(first: 10) { nodes { quantity lineItem { id } } } }
    fulfillmentOrders(first: 5) { nodes { id status assignedLocation { location { id } }
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
# One fulfillmentCreate per assigned location; an order spread wider than this is refused, not looped on.
MAX_FULFILLMENT_LOCATIONS = 20


def topic_enum(topic: str) -> str:
    """"orders/create" → "ORDERS_CREATE"."""
    return topic.replace("/", "_").upper()


def topic_name(enum: str) -> str:
    """"INVENTORY_LEVELS_UPDATE" → "inventory_levels/update" (the resource, then the last word)."""
    resource, _, action = enum.lower().rpartition("_")
    return f"{resource}/{action}" if resource else enum.lower()


def _location_of(fulfillment_order: dict) -> str:
    return str(((fulfillment_order.get("assignedLocation") or {}).get("location") or {}).get("id") or "")


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

    supports_bulk_export: ClassVar[bool] = True

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
                                         sleep=self.sleep, clock=self.clock, interactive=self.interactive)
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
        # channel_ref: the variant's inventory item, what inventorySetQuantities and inventory_levels/update name
        items = [ChannelListing(external_id=str(n["legacyResourceId"]),
                                channel_ref=str((n.get("inventoryItem") or {}).get("legacyResourceId") or ""),
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
        query = self._orders_search(updated_since)
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

    @staticmethod
    def _orders_search(updated_since: datetime | None) -> str | None:
        return f"updated_at:>='{_iso(updated_since - ORDERS_OVERLAP)}'" if updated_since else None

    # ---------------------------------------------------------------- bulk export (integrations/channels/shopify/bulk.py)

    def orders_count(self, updated_since: datetime | None) -> int | None:
        """`ordersCount` over the window fetch_orders reads (no limit: Shopify caps it at 10,000 by default)."""
        return bulk.orders_count(self, self._orders_search(updated_since))

    def bulk_export_start(self, updated_since: datetime | None, notify_url: str | None) -> BulkExport:
        return bulk.bulk_start(self, self._orders_search(updated_since), notify_url)

    def bulk_export_status(self, export_id: str) -> BulkExport:
        return bulk.bulk_status(self, export_id)

    def bulk_export_orders(self, export: BulkExport, offset: int = 0) -> Iterator[BulkOrder]:
        return bulk.bulk_orders(self, export, offset)

    def fetch_order(self, external_id: str) -> NormalizedOrder | None:
        """One order by its numeric id, the same NormalizedOrder a page of fetch_orders gives."""
        node = self._data(ORDER_QUERY, {"id": to_gid("Order", external_id)}, operation="orders").get("order")
        if node is None:
            return None
        lines = node.get("lineItems") or {}
        line_nodes = self._all_lines(node["id"]) if self._next(lines) else list(lines.get("nodes") or [])
        return order_from_graphql(node, line_nodes)

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
            if not (str(item.channel_ref).strip() and str(item.location_external_id).strip()):
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
                "quantities": [{"inventoryItemId": to_gid("InventoryItem", p.item.channel_ref),
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
                variables[f"i{n}"] = to_gid("InventoryItem", p.item.channel_ref)
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
        """Fulfillments with the shipment's lines and tracking, one per location the lines are assigned to
        (fulfillmentCreate takes fulfillment orders of one location only); or, with
        `previous_fulfillment_id` (a void and re-ship), the new tracking on the existing ones. The
        fulfillment id we return is the ids joined by ",": opaque to the engine, handed back on a re-ship.

        Exactly once in effect: what fulfillments of this order already carrying this tracking number
        hold (an earlier attempt whose answer was lost, or one location of several done before a
        failure) is subtracted before anything is created, so a retry creates only what is missing."""
        tracking = {"company": tracking_company(push.carrier), "number": push.tracking_number}
        if push.tracking_url:
            tracking["url"] = push.tracking_url
        if push.previous_fulfillment_id:
            updated = []
            for fulfillment_id in push.previous_fulfillment_id.split(","):
                result = self._data(TRACKING_UPDATE, {"id": to_gid("Fulfillment", fulfillment_id), "t": tracking},
                                    operation="tracking")["fulfillmentTrackingInfoUpdate"]
                if result.get("userErrors"):
                    raise Rejected("Shopify refused the tracking update: "
                                   + "; ".join(str(e.get("message")) for e in result["userErrors"]))
                updated.append(gid_number(result["fulfillment"]["id"]))
            return TrackingResult(fulfillment_id=",".join(updated))
        order = self._fulfillment_state(push.order_external_id)
        for _ in range(MAX_FULFILLMENT_LOCATIONS):
            ours, done = self._ours(order, push.tracking_number)
            by_location = self._fulfillment_groups(push, order, done=done, has_ours=bool(ours))
            if not by_location:
                return TrackingResult(fulfillment_id=",".join(ours))
            location = min(by_location)
            try:
                result = self._data(FULFILLMENT_CREATE, {"f": {
                    "notifyCustomer": True, "trackingInfo": tracking,
                    "lineItemsByFulfillmentOrder": by_location[location]}}, operation="tracking")["fulfillmentCreate"]
            except Transient:
                # The answer was lost: if the fulfillment went through, the next round sees it as ours.
                order = self._fulfillment_state(push.order_external_id)
                if self._ours(order, push.tracking_number)[1] == done:
                    raise
                continue
            if result.get("userErrors"):
                # A retried create whose first attempt went through is refused for want of quantity: look.
                order = self._fulfillment_state(push.order_external_id)
                if self._ours(order, push.tracking_number)[1] != done:
                    continue
                raise Rejected("Shopify refused the fulfillment: "
                               + "; ".join(str(e.get("message")) for e in result["userErrors"]))
            if len(by_location) == 1:  # that was the last location: nothing to read again
                return TrackingResult(fulfillment_id=",".join([*ours, gid_number(result["fulfillment"]["id"])]))
            order = self._fulfillment_state(push.order_external_id)
        raise Rejected(f"order {push.order_external_id} spans more than {MAX_FULFILLMENT_LOCATIONS} locations")

    def _fulfillment_state(self, order_external_id: str) -> dict:
        order = self._data(FULFILLMENT_ORDERS_QUERY, {"id": to_gid("Order", order_external_id)},
                           operation="tracking").get("order")
        if order is None:
            raise Rejected(f"Shopify has no order {order_external_id}")
        return order

    @staticmethod
    def _ours(order: dict, tracking_number: str) -> tuple[list[str], dict[str, int]]:
        """The fulfillments of this order carrying this tracking number, and the quantity of each line
        they fulfilled."""
        ids: list[str] = []
        lines: dict[str, int] = {}
        for fulfillment in order.get("fulfillments") or []:
            if any(t.get("number") == tracking_number for t in fulfillment.get("trackingInfo") or []):
                ids.append(gid_number(fulfillment["id"]))
                for item in (fulfillment.get("fulfillmentLineItems") or {}).get("nodes") or []:
                    line_id = gid_number(item["lineItem"]["id"])
                    lines[line_id] = lines.get(line_id, 0) + int(item["quantity"])
        return ids, lines

    @staticmethod
    def _fulfillment_groups(push: TrackingPush, order: dict, *, done: dict[str, int],
                            has_ours: bool) -> dict[str, list[dict]]:
        """lineItemsByFulfillmentOrder for what is still to fulfil, by assigned location: each line's
        quantity (less what our fulfillments already hold) taken from the open fulfillment orders'
        remaining quantities; no lines means everything still open. Empty: nothing left to do."""
        open_orders = [fo for fo in order["fulfillmentOrders"]["nodes"] if fo["status"] in OPEN_FULFILLMENT_ORDER]
        by_location: dict[str, list[dict]] = {}
        if not push.lines:
            for fo in open_orders:
                if any(li["remainingQuantity"] > 0 for li in fo["lineItems"]["nodes"]):
                    by_location.setdefault(_location_of(fo), []).append({"fulfillmentOrderId": fo["id"]})
            if not by_location and not has_ours:
                raise Rejected(f"order {push.order_external_id} has nothing left to fulfil")
            return by_location
        wanted: dict[str, int] = {}
        for line_id, quantity in push.lines:
            wanted[gid_number(line_id)] = wanted.get(gid_number(line_id), 0) + int(quantity)
        for line_id, quantity in done.items():
            if line_id in wanted:
                wanted[line_id] = max(0, wanted[line_id] - quantity)
        chosen: dict[str, list[dict]] = {}
        location: dict[str, str] = {}
        for fo in open_orders:
            for li in fo["lineItems"]["nodes"]:
                line_id = gid_number(li["lineItem"]["id"])
                take = min(wanted.get(line_id, 0), li["remainingQuantity"])
                if take > 0:
                    chosen.setdefault(fo["id"], []).append({"id": li["id"], "quantity": take})
                    location[fo["id"]] = _location_of(fo)
                    wanted[line_id] -= take
        short = {line: qty for line, qty in wanted.items() if qty > 0}
        if short:
            raise Rejected(f"order {push.order_external_id}: nothing left to fulfil for "
                           + ngettext("line", "lines", len(short)) + " " + ", ".join(f"{line} ({qty})" for line, qty in sorted(short.items())))
        for fo_id, lines in chosen.items():
            by_location.setdefault(location[fo_id], []).append(
                {"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": lines})
        return by_location

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

    def subscriptions_ensure(self, url: str | None) -> SubscriptionReport:
        """Every topic in `webhook_topics` subscribed at `url`: Shopify delivers to a URL only, so without
        one nothing is subscribed and the report says why. Topics Shopify dropped are subscribed again."""
        topics = list(self.webhook_topics)
        if url is None:
            return SubscriptionReport(ok=False, topics=[], missing=topics,
                                      reason="WEBHOOK_BASE_URL is not set to an https address")
        have = {s.topic for s in self.webhooks_list() if s.url == url}
        if set(topics) - have:
            have |= {s.topic for s in self.webhooks_register(url, topics) if s.url == url}
        missing = [t for t in topics if t not in have]
        return SubscriptionReport(ok=not missing, topics=sorted(have & set(topics)), missing=missing, target=url)

    def subscriptions_remove(self, url: str | None) -> int:
        ours = [s.id for s in self.webhooks_list() if url is None or s.url == url]
        if ours:
            self.webhooks_remove(ours)
        return len(ours)
