"""WooCommerce behind the adapter interface (integrations/channels/base.py), on the REST client (client.py)
and the pure mapping (mapping.py). Issue 15 §2-§6:

- listings: simple products, and for variable products their variations only (never the parent), each
  variation keeping its parent's id in `channel_data` (its batch endpoint); the cursor is the products page;
- orders: `modified_after` (the checkpoint minus ORDERS_OVERLAP) with `dates_are_gmt=true`, `orderby=modified`,
  `order=asc`, 100 a page; the cursor is the page number (pages are numbered for one window, so the caller
  passes the same `updated_since` with it); a checkout draft is no order and is left out;
- quantities: the client's batches (simple products together, each parent's variations apart, 100 a call),
  each object with `manage_stock: true` (WooCommerce ignores `stock_quantity` while it is off); an item
  WooCommerce answers with an `error` fails alone with its message;
- tracking: one customer note per parcel (or, with the Shipment Tracking extension, one tracking entry), found
  again by its tracking number before anything is written, so a retry adds nothing; the order becomes
  `completed` only with the last parcel (`is_final`);
- webhooks: order.created/updated/deleted and product.updated to this integration's URL, signed with our own
  random secret per integration (kept as the credentials' `webhook_secret`, made here the first time and
  handed to `on_credentials_changed` before any webhook names it); a webhook WooCommerce disabled (7 failed
  deliveries) or paused is set active again, a deleted one made again.

WooCommerce has no stock locations: one quantity per listing (`has_locations` False).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from core.http import HttpClient, Rejected
from integrations.channels.base import (
    ChannelAdapter,
    ChannelListing,
    ConnectionReport,
    Page,
    PushResult,
    QuantityPush,
    SubscriptionReport,
    TrackingPush,
    TrackingResult,
)
from integrations.channels.woocommerce.carriers import tracking_provider
from integrations.channels.woocommerce.client import (
    BUDGET,
    StockPush,
    WooAuthFailed,
    WooCommerceClient,
    WooError,
    WooRejected,
    gmt,
)
from integrations.channels.woocommerce.mapping import channel_listing, listings_from_product, order_from_wc
from integrations.channels.woocommerce.webhooks import TOPICS, new_webhook_secret
from orders.normalized import NormalizedOrder

# An order re-read across a checkpoint costs nothing (ingest is idempotent); one missed costs an order.
# Numbered pages over `orderby=modified` let an order edited during the read move behind the page being read.
ORDERS_OVERLAP = timedelta(minutes=10)
WEBHOOK_NAME = "Switchboard"  # every webhook we make is named "Switchboard <topic>"
# The write WooCommerce refuses a read-only key or a user who may not edit products with.
READ_ONLY_CODES = frozenset({"woocommerce_rest_authentication_error", "woocommerce_rest_cannot_edit",
                             "woocommerce_rest_cannot_batch"})
MISSING_ORDER_CODES = frozenset({"woocommerce_rest_shop_order_invalid_id", "woocommerce_rest_order_invalid_id"})


def tracking_note(push: TrackingPush) -> str:
    """The customer note for one parcel: carrier, service, tracking number and link, one per line."""
    provider, link = tracking_provider(push.carrier, push.tracking_number)
    carrier = " ".join(p for p in (provider, push.service.strip()) if p)
    lines = [f"Shipped with {carrier}." if carrier else "Shipped.", f"Tracking number: {push.tracking_number}"]
    if push.tracking_url or link:
        lines.append(f"Track it: {push.tracking_url or link}")
    return "\n".join(lines)


@dataclass
class WooCommerceAdapter(ChannelAdapter):
    webhook_topics: ClassVar[tuple[str, ...]] = TOPICS
    has_locations: ClassVar[bool] = False

    # Transport, for tests; adapter_for leaves them at their defaults.
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    http: HttpClient | None = None
    _client: WooCommerceClient | None = field(default=None, init=False, repr=False)
    _tracking_extension: bool | None = field(default=None, init=False, repr=False)

    @property
    def client(self) -> WooCommerceClient:
        if self._client is None:
            http = self.http or HttpClient(budget_key=self.budget_key, budget=BUDGET, sleep=self.sleep,
                                           clock=self.clock, max_attempts=1 if self.interactive else None)
            self._client = WooCommerceClient(self.credentials, budget_key=self.budget_key, http=http)
        return self._client

    # ---------------------------------------------------------------- connection

    def test_connection(self) -> ConnectionReport:
        """The site's name (from `/wp-json/`, which also proves the REST API is on), a read with the keys,
        and an empty batch that proves they may write: `read_write` is what we need, `write` missing is
        reported (a read-only key), not raised."""
        index = self.client.http.request("GET", f"{self.client.store_url}/wp-json/", operation="connection",
                                         headers={"Accept": "application/json"})
        name = ""
        try:
            body = index.json()
            name = str(body.get("name") or "") if isinstance(body, dict) else ""
        except ValueError:
            pass
        self.client.call("GET", "orders", params={"per_page": 1}, operation="connection")  # a refused key: AuthFailed
        scopes, missing = ["read"], []
        try:
            self.client.write_probe()
            scopes.append("write")
        except WooAuthFailed as exc:
            if exc.code not in READ_ONLY_CODES:
                raise
            missing.append("write")
        return ConnectionReport(shop_name=name, scopes=scopes, missing_scopes=missing, locations=[])

    # ---------------------------------------------------------------- listings

    def fetch_listings(self, cursor: str | None = None) -> Page[ChannelListing]:
        """One page of products (100), a variable product's variations read whole with it."""
        number = int(cursor or 1)
        page = self.client.page("products", page=number, operation="listings")
        items: list[ChannelListing] = []
        for product in page.items:
            variations = list(self.client.variations(int(product["id"]))) \
                if str(product.get("type") or "") == "variable" else []
            items += [channel_listing(item) for item in listings_from_product(product, variations)]
        return Page(items=items, next_cursor=self._next(page, number))

    @staticmethod
    def _next(page: Any, number: int) -> str | None:
        if not page.items:
            return None
        if page.total_pages is not None:
            return str(number + 1) if number < page.total_pages else None
        return str(number + 1) if len(page.items) >= 100 else None

    # ---------------------------------------------------------------- orders

    def fetch_orders(self, updated_since: datetime | None, cursor: str | None = None) -> Page[NormalizedOrder]:
        number = int(cursor or 1)
        params: dict[str, Any] = {"orderby": "modified", "order": "asc"}
        if updated_since is not None:
            params.update({"modified_after": gmt(updated_since - ORDERS_OVERLAP), "dates_are_gmt": "true"})
        page = self.client.page("orders", params=params, page=number, operation="orders")
        orders = [o for o in (order_from_wc(body) for body in page.items) if o is not None]
        return Page(items=orders, next_cursor=self._next(page, number))

    def fetch_order(self, external_id: str) -> NormalizedOrder | None:
        if not str(external_id).isdigit():
            return None
        try:
            body = self.client.order(int(external_id))
        except WooRejected as exc:
            if exc.status == 404 and exc.code in MISSING_ORDER_CODES:
                return None
            raise
        return order_from_wc(body)

    # ---------------------------------------------------------------- quantities

    def push_quantities(self, items: list[QuantityPush]) -> list[PushResult]:
        """Absolute quantities with `manage_stock` on, in the fewest batches WooCommerce's grouping allows.
        WooCommerce has no compare-and-set: `previous_quantity` is not sent."""
        results: dict[int, PushResult] = {}
        sendable: list[tuple[int, StockPush]] = []
        for i, item in enumerate(items):
            parent = (item.channel_data or {}).get("parent_id")
            if not str(item.listing_external_id).isdigit() or (parent is not None and not str(parent).isdigit()):
                results[i] = PushResult(item.listing_external_id, ok=False,
                                        error="not a WooCommerce product or variation id")
                continue
            sendable.append((i, StockPush(listing_id=int(item.listing_external_id), quantity=int(item.quantity),
                                          parent_id=int(parent) if parent is not None else None)))
        answers = self.client.push_stock([push for _, push in sendable]) if sendable else []
        for (i, push), answer in zip(sendable, answers, strict=True):
            listing_id = items[i].listing_external_id
            if answer.ok:
                quantity = (answer.resource or {}).get("stock_quantity")
                results[i] = PushResult(listing_id, ok=True,
                                        channel_quantity=int(quantity) if quantity is not None else push.quantity)
            else:
                results[i] = PushResult(listing_id, ok=False,
                                        error=answer.error_message or answer.error_code or "WooCommerce refused it")
        return [results[i] for i in range(len(items))]

    # ---------------------------------------------------------------- tracking

    def has_tracking_extension(self) -> bool:
        if self._tracking_extension is None:
            self._tracking_extension = self.client.has_shipment_tracking()
        return self._tracking_extension

    def push_tracking(self, push: TrackingPush) -> TrackingResult:
        """A note (or a Shipment Tracking entry) for this parcel unless the order already has one with its
        tracking number, then `completed` when this was the last parcel and the order is not completed yet.
        The fulfillment id is the note's id (or the tracking entry's)."""
        if not str(push.order_external_id).isdigit():
            raise Rejected(f"not a WooCommerce order id: {push.order_external_id!r}")
        order_id = int(push.order_external_id)
        if self.has_tracking_extension():
            found = next((t for t in self.client.shipment_trackings(order_id)
                          if str(t.get("tracking_number")) == push.tracking_number), None)
            if found is None:
                provider, link = tracking_provider(push.carrier, push.tracking_number)
                found = self.client.add_shipment_tracking(
                    order_id, provider=" ".join(p for p in (provider, push.service.strip()) if p),
                    tracking_number=push.tracking_number, tracking_link=push.tracking_url or link,
                    date_shipped=push.shipped_at.strftime("%Y-%m-%d") if push.shipped_at else "")
            reference = str(found.get("tracking_id") or "")
        else:
            marker = f"Tracking number: {push.tracking_number}"
            found = next((n for n in self.client.order_notes(order_id)
                          if marker in str(n.get("note") or "").splitlines()), None)
            if found is None:
                found = self.client.add_order_note(order_id, tracking_note(push), customer_note=True)
            reference = str(found.get("id") or "")
        if push.is_final:
            order = self.client.order(order_id)
            if str(order.get("status")) not in ("completed", "cancelled", "refunded", "trash"):
                self.client.set_order_status(order_id, "completed")
        return TrackingResult(fulfillment_id=reference)

    # ---------------------------------------------------------------- webhooks

    def _secret(self) -> tuple[str, bool]:
        """Our webhook secret for this integration, made (and handed to on_credentials_changed, which stores
        it encrypted) the first time; True when it is new."""
        secret = str(self.credentials.get("webhook_secret") or "")
        if secret:
            return secret, False
        secret = new_webhook_secret()
        self.credentials = {**self.credentials, "webhook_secret": secret}
        self.on_credentials_changed(dict(self.credentials))
        return secret, True

    def _ours(self, url: str | None) -> list[dict[str, Any]]:
        return [h for h in self.client.webhooks()
                if (h.get("delivery_url") == url if url is not None
                    else str(h.get("name") or "").startswith(WEBHOOK_NAME + " "))]

    def subscriptions_ensure(self, url: str | None) -> SubscriptionReport:
        topics = list(self.webhook_topics)
        if url is None:
            return SubscriptionReport(ok=False, topics=[], missing=topics,
                                      reason="WEBHOOK_BASE_URL is not set to an https address")
        secret, new_secret = self._secret()
        have: set[str] = set()
        created: list[str] = []
        reactivated: list[str] = []
        for hook in self._ours(url):
            topic = str(hook.get("topic") or "")
            if topic not in topics or topic in have:
                continue
            changes: dict[str, Any] = {}
            if hook.get("status") != "active":  # disabled after failed deliveries, or paused by hand
                changes["status"] = "active"
                reactivated.append(topic)
            if new_secret:  # made before our secret was stored: it signs with another one
                changes["secret"] = secret
            if changes:
                self.client.call("PUT", f"webhooks/{int(hook['id'])}", json=changes, operation="webhooks")
            have.add(topic)
        for topic in topics:
            if topic not in have:
                self.client.create_webhook(topic=topic, delivery_url=url, secret=secret,
                                           name=f"{WEBHOOK_NAME} {topic}")
                have.add(topic)
                created.append(topic)
        missing = [t for t in topics if t not in have]
        return SubscriptionReport(ok=not missing, topics=sorted(have), missing=missing, target=url,
                                  created=created, reactivated=reactivated)

    def subscriptions_remove(self, url: str | None) -> int:
        ours = self._ours(url)
        for hook in ours:
            try:
                self.client.delete_webhook(int(hook["id"]))
            except WooError as exc:
                if exc.status != 404:  # already gone is what we wanted
                    raise
        return len(ours)

