"""Amazon behind the adapter interface (integrations/channels/base.py): orders by polling searchOrders,
quantities by patchListingsItem or a JSON_LISTINGS_FEED, shipments by confirmShipment.

- Orders: `lastUpdatedAfter` = the checkpoint minus `ORDERS_OVERLAP` (ingest is idempotent; a missed order
  costs an order), `lastUpdatedBefore` = now minus `BEFORE_NOW` (Amazon refuses less than two minutes), every
  marketplace of the seller, 100 a page, the datasets of mapping.INCLUDED_DATA. The cursor carries the
  pagination token and the parameters it was issued for, sent again unchanged as the model requires.
- Quantities: up to `FEED_MIN_ITEMS - 1` SKUs are patched one call each (5 a second); from `FEED_MIN_ITEMS` on
  one feed takes them all in six calls or so (document, upload, createFeed, a few getFeed, the report), whose
  createFeed plan (one per two minutes, burst 15) is the scarce one. A feed's outcome is asynchronous: each
  item comes back pending (`feed:<feedId>:<sku>`), and `push_results` reads the processing report once the
  feed is DONE and names each refused SKU. An `INVALID` patch fails that SKU alone, with Amazon's issues.
- Shipments: confirmShipment per parcel with a `packageReferenceId` one above the order's highest; an order
  whose packages already carry the tracking number is not confirmed again (its package is the answer).
- No webhooks: ORDER_CHANGE over SQS is later work (polling every two minutes until then).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from core.http import Rejected
from integrations.channels.amazon.carriers import carrier_code
from integrations.channels.amazon.client import AmazonClient, AmazonRejected
from integrations.channels.amazon.credentials import app_credentials
from integrations.channels.amazon.mapping import (
    INCLUDED_DATA,
    listing_from_amazon,
    order_from_amazon,
    report_errors,
    submission_errors,
)
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
from orders.normalized import NormalizedOrder

ORDERS_OVERLAP = timedelta(minutes=10)
BEFORE_NOW = timedelta(minutes=2, seconds=30)  # Amazon's two minutes, and half a minute for clocks
BACKFILL = timedelta(days=30)  # the first poll of a new store reads this far back
ORDERS_PER_PAGE = 100
LISTINGS_PER_PAGE = 20  # searchListingsItems' maximum
FEED_MIN_ITEMS = 12  # from here on one feed costs fewer calls than one patch per SKU
FEED_REF = "feed:"
FULFILLMENT_PATH = "/attributes/fulfillment_availability"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def availability_patch(quantity: int) -> list[dict[str, Any]]:
    return [{"op": "merge", "path": FULFILLMENT_PATH,
             "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": max(0, int(quantity))}]}]


@dataclass
class AmazonAdapter(ChannelAdapter):
    has_locations: ClassVar[bool] = False
    poll_interval_seconds: ClassVar[float] = 120.0
    webhook_topics: ClassVar[tuple[str, ...]] = ()

    _client: AmazonClient | None = field(default=None, init=False, repr=False)

    @property
    def client(self) -> AmazonClient:
        if self._client is None:
            client_id, client_secret = app_credentials(self.credentials)
            self._client = AmazonClient(seller_id=str(self.credentials.get("seller_id") or ""),
                                        region=str(self.credentials.get("region") or "na"),
                                        refresh_token=str(self.credentials.get("refresh_token") or ""),
                                        client_id=client_id, client_secret=client_secret,
                                        interactive=self.interactive)
        return self._client

    @property
    def marketplace_ids(self) -> list[str]:
        return list(self.credentials.get("marketplace_ids") or [])

    # -------------------------------------------------------------- connection

    def test_connection(self) -> ConnectionReport:
        """One listings call proves the token, the seller id and the first marketplace together."""
        self.client.search_listings(self.marketplace_ids[0], None, page_size=1)
        return ConnectionReport(shop_name=str(self.credentials.get("seller_id") or ""), scopes=[],
                                missing_scopes=[], locations=[])

    # -------------------------------------------------------------- listings

    def fetch_listings(self, cursor: str | None = None) -> Page[ChannelListing]:
        """The seller's SKUs on its first marketplace (a unified account lists one SKU per marketplace)."""
        body = self.client.search_listings(self.marketplace_ids[0], cursor, page_size=LISTINGS_PER_PAGE)
        items = [listing_from_amazon(item) for item in body.get("items") or []]
        return Page(items=items, next_cursor=(body.get("pagination") or {}).get("nextToken") or None)

    # -------------------------------------------------------------- orders

    def _search_params(self, updated_since: datetime | None) -> dict[str, Any]:
        now = datetime.now(UTC)
        before = now - BEFORE_NOW
        after = (updated_since - ORDERS_OVERLAP) if updated_since is not None else now - BACKFILL
        return {"lastUpdatedAfter": _iso(min(after, before)), "lastUpdatedBefore": _iso(before),
                "marketplaceIds": self.marketplace_ids, "maxResultsPerPage": ORDERS_PER_PAGE,
                "includedData": list(INCLUDED_DATA)}

    def fetch_orders(self, updated_since: datetime | None, cursor: str | None = None) -> Page[NormalizedOrder]:
        if cursor:
            state = json.loads(cursor)
            params = {**state["params"], "paginationToken": state["token"]}
        else:
            params = self._search_params(updated_since)
        body = self.client.search_orders(params)
        orders = [order for raw in body.get("orders") or [] if (order := order_from_amazon(raw)) is not None]
        token = (body.get("pagination") or {}).get("nextToken")
        params.pop("paginationToken", None)
        return Page(items=orders, next_cursor=json.dumps({"params": params, "token": token}) if token else None)

    def fetch_order(self, external_id: str) -> NormalizedOrder | None:
        raw = self.client.get_order(external_id, list(INCLUDED_DATA))
        return order_from_amazon(raw) if raw is not None else None

    # -------------------------------------------------------------- quantities

    def push_quantities(self, items: list[QuantityPush]) -> list[PushResult]:
        if len(items) >= FEED_MIN_ITEMS:
            return self._push_feed(items)
        return [self._push_patch(item) for item in items]

    def _marketplace(self, item: QuantityPush) -> str:
        return str(item.channel_data.get("marketplace_id") or self.marketplace_ids[0])

    def _push_patch(self, item: QuantityPush) -> PushResult:
        body = {"productType": str(item.channel_data.get("product_type") or ""),
                "patches": availability_patch(item.quantity)}
        try:
            answer = self.client.patch_listing(item.listing_external_id, self._marketplace(item), body)
        except AmazonRejected as refused:  # a 400 for this SKU alone (a malformed SKU): it fails alone
            return PushResult(listing_external_id=item.listing_external_id, ok=False, error=refused.message)
        error = submission_errors(answer)
        if error:
            return PushResult(listing_external_id=item.listing_external_id, ok=False, error=error)
        return PushResult(listing_external_id=item.listing_external_id, ok=True, channel_quantity=item.quantity)

    def _push_feed(self, items: list[QuantityPush]) -> list[PushResult]:
        """One JSON_LISTINGS_FEED for every item; each comes back pending on the feed."""
        unknown = {n for n, item in enumerate(items) if not item.channel_data.get("product_type")}
        messages = [{"messageId": n + 1, "sku": item.listing_external_id, "operationType": "PATCH",
                     "productType": str(item.channel_data["product_type"]), "patches": availability_patch(item.quantity)}
                    for n, item in enumerate(items) if n not in unknown]
        feed_id = ""
        if messages:
            document = {"header": {"sellerId": self.client.seller_id, "version": "2.0", "issueLocale": "en_US"},
                        "messages": messages}
            feed_id = self.client.feed_submit(document, [self.marketplace_ids[0]])
        return [PushResult(listing_external_id=item.listing_external_id, ok=False,
                           error="Amazon has no product type for this listing; import the listings again.")
                if n in unknown else
                PushResult(listing_external_id=item.listing_external_id, ok=False,
                           pending_ref=f"{FEED_REF}{feed_id}:{item.listing_external_id}")
                for n, item in enumerate(items)]

    def push_results(self, refs: list[str]) -> list[PushResult]:
        """Each feed once: still processing → the ref again; DONE → the report's errors per SKU; FATAL or
        CANCELLED → every SKU of it failed."""
        outcomes: dict[str, tuple[str, dict[str, str]]] = {}
        results: list[PushResult] = []
        for ref in refs:
            if not ref.startswith(FEED_REF):
                raise Rejected(f"not an Amazon feed reference: {ref!r}")
            feed_id, _, sku = ref[len(FEED_REF):].partition(":")
            if feed_id not in outcomes:
                status = self.client.feed_status(feed_id)
                state = str(status.get("processingStatus") or "")
                errors = (report_errors(self.client.feed_report(status["resultFeedDocumentId"]))
                          if state == "DONE" and status.get("resultFeedDocumentId") else {})
                outcomes[feed_id] = (state, errors)
            state, errors = outcomes[feed_id]
            if state in ("IN_QUEUE", "IN_PROGRESS"):
                results.append(PushResult(listing_external_id=sku, ok=False, pending_ref=ref))
            elif state == "DONE" and sku not in errors:
                results.append(PushResult(listing_external_id=sku, ok=True))
            else:
                results.append(PushResult(listing_external_id=sku, ok=False,
                                          error=errors.get(sku) or f"Amazon's feed {feed_id} ended {state}"))
        return results

    # -------------------------------------------------------------- shipments

    def push_tracking(self, push: TrackingPush) -> TrackingResult:
        order = self.client.get_order(push.order_external_id, ["FULFILLMENT", "PACKAGES"])
        if order is None:
            raise Rejected(f"Amazon has no order {push.order_external_id}")
        packages = order.get("packages") or []
        for package in packages:
            if package.get("trackingNumber") == push.tracking_number:
                return TrackingResult(fulfillment_id=f"{push.order_external_id}:{package.get('packageReferenceId')}")
        items = order.get("orderItems") or []
        lines = push.lines or [(str(i["orderItemId"]), int((i.get("fulfillment") or {}).get(
            "quantityUnfulfilled", i.get("quantityOrdered") or 0))) for i in items]
        lines = [(line_id, quantity) for line_id, quantity in lines if quantity > 0]
        if not lines:
            raise Rejected(f"nothing of Amazon order {push.order_external_id} is left to ship")
        reference = 1 + max((int(p["packageReferenceId"]) for p in packages
                             if str(p.get("packageReferenceId") or "").isdigit()), default=0)
        code, name = carrier_code(push.carrier)
        detail: dict[str, Any] = {
            "packageReferenceId": str(reference), "carrierCode": code, "trackingNumber": push.tracking_number,
            "shipDate": _iso(push.shipped_at or datetime.now(UTC)),
            "orderItems": [{"orderItemId": line_id, "quantity": quantity} for line_id, quantity in lines]}
        if name:
            detail["carrierName"] = name
        if push.service:
            detail["shippingMethod"] = push.service
        marketplace = str(push.channel_data.get("marketplace_id") or
                          (order.get("salesChannel") or {}).get("marketplaceId") or self.marketplace_ids[0])
        self.client.confirm_shipment(push.order_external_id, {"marketplaceId": marketplace, "packageDetail": detail})
        return TrackingResult(fulfillment_id=f"{push.order_external_id}:{reference}")

    # -------------------------------------------------------------- notifications (later work)

    def subscriptions_ensure(self, url: str | None) -> SubscriptionReport:
        """Nothing to subscribe yet: orders are polled. ORDER_CHANGE over SQS (a destination and a
        subscription, §3.8) is later work; the report says so for the doctor."""
        return SubscriptionReport(ok=True, topics=[], missing=[], target="polling",
                                  reason="Amazon orders are polled every two minutes; SQS notifications are not "
                                         "set up yet.")

    def subscriptions_remove(self, url: str | None) -> int:
        return 0
