"""Amazon behind the adapter interface (integrations/channels/base.py): orders by polling searchOrders,
quantities by patchListingsItem or a JSON_LISTINGS_FEED, shipments by confirmShipment.

- Connection test: getMarketplaceParticipations (the store's marketplaces must be ones the account sells in)
  and the restricted-role probe (has_address_role); what they find goes to the doctor as findings.
- Listings: every marketplace of the store, one listing per SKU carrying each marketplace's product type
  (fetch_listings, mapping.listing_merged), so one stock figure per product reaches every marketplace.
- Orders: `lastUpdatedAfter` = the checkpoint minus `ORDERS_OVERLAP` (ingest is idempotent; a missed order
  costs an order), `lastUpdatedBefore` = now minus `BEFORE_NOW` (Amazon refuses less than two minutes), every
  marketplace of the seller, 100 a page, the datasets of mapping.INCLUDED_DATA. The cursor carries the
  pagination token and the parameters it was issued for, sent again unchanged as the model requires.
  RECIPIENT and BUYER need no Restricted Data Token in v2026-01-01, only the role.
- Quantities: fewer than `FEED_MIN_ITEMS` (SKU, marketplace) pairs are patched one call each (5 a second);
  from `FEED_MIN_ITEMS` on one feed per marketplace takes them all in six calls or so (document, upload,
  createFeed, a few getFeed, the report), whose createFeed plan (one per two minutes, burst 15) is the scarce
  one. A feed's outcome is asynchronous: each item comes back pending (`feed:<feedId>[+<feedId>]:<sku>`),
  and `push_results` reads the processing reports once the feeds are DONE and names each refused SKU. An
  `INVALID` patch fails that SKU alone, with Amazon's issues (and the engine does not send that quantity
  again: integrations.sync.stock).
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
from integrations.channels.amazon.client import AmazonClient, AmazonRejected, RestrictedDataRefused
from integrations.channels.amazon.credentials import app_credentials
from integrations.channels.amazon.mapping import (
    INCLUDED_DATA,
    listing_marketplaces,
    listing_merged,
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
# The Tokens API resource whose token only an app with the Direct-to-Consumer Delivery role is issued (the probe
# of has_address_role; Amazon's Tokens API use case guide).
ADDRESS_PROBE = [{"method": "GET", "path": "/orders/v0/orders", "dataElements": ["shippingAddress"]}]


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
        """getMarketplaceParticipations proves the token and the seller, and tells whether the account sells
        in every marketplace the store names; a restricted data token asked for the ship-to address tells
        whether the app has the role that opens the RECIPIENT dataset (the doctor says so when it has not)."""
        participating = self.client.participating_marketplace_ids()
        findings: list[tuple[str, str, str, str]] = []
        outside = [m for m in self.marketplace_ids if m not in participating]
        if outside:
            findings.append(("marketplaces_not_participating", "error",
                             f"The seller's account does not sell in {', '.join(outside)} (it sells in "
                             f"{', '.join(participating) or 'no marketplace'}): nothing syncs there.",
                             "Edit the store's marketplace ids to those the account sells in, or register the "
                             "account in that marketplace in Seller Central."))
        if not self.has_address_role():
            findings.append(("restricted_role_missing", "warning",
                             "The app does not have Amazon's Direct-to-Consumer Delivery (Restricted) role, so "
                             "orders arrive without the ship-to address and the buyer's name.",
                             "In Seller Central → Develop Apps, request the Direct-to-Consumer Delivery role for "
                             "the app and select it in the app's registration, authorise the app again and "
                             "reconnect the store, then run \"sync now\"."))
        return ConnectionReport(shop_name=str(self.credentials.get("seller_id") or ""), scopes=[],
                                missing_scopes=[], locations=[], findings=findings)

    def has_address_role(self) -> bool:
        """Whether the app holds the role for customers' addresses. Orders v2026-01-01 needs no Restricted Data
        Token (Amazon's "Access Orders PII": the role alone opens RECIPIENT, and without it the dataset is just
        absent), so the Tokens API is asked for the documented v0 address token purely as the probe: Amazon
        issues it only to an app with the role. The token is cached for its expiry and never sent."""
        try:
            self.client.restricted_data_token(ADDRESS_PROBE)
        except RestrictedDataRefused:
            return False
        return True

    # -------------------------------------------------------------- listings

    def fetch_listings(self, cursor: str | None = None) -> Page[ChannelListing]:
        """Every marketplace's SKUs, one listing per SKU: a marketplace's page at a time, each SKU of it looked
        up in the other marketplaces (searchListingsItems by SKU), and kept on the page of the first
        marketplace that lists it, so the import sees it once with the product type and quantity of every
        marketplace (mapping.listing_merged)."""
        state = json.loads(cursor) if cursor else {"m": 0, "t": None}
        markets = self.marketplace_ids
        index = int(state["m"])
        body = self.client.search_listings(markets[index], state["t"], page_size=LISTINGS_PER_PAGE)
        found = {markets[index]: {str(i.get("sku")): i for i in body.get("items") or []}}
        skus = list(found[markets[index]])
        for other in markets:
            if other != markets[index] and skus:
                answer = self.client.search_listings(other, None, page_size=LISTINGS_PER_PAGE, skus=skus)
                found[other] = {str(i.get("sku")): i for i in answer.get("items") or []}
        earlier = markets[:index]
        items = [listing_merged({m: found[m][sku] for m in markets if sku in found.get(m, {})})
                 for sku in skus if not any(sku in found.get(m, {}) for m in earlier)]
        token = (body.get("pagination") or {}).get("nextToken") or None
        if token:
            next_state: dict[str, Any] | None = {"m": index, "t": token}
        else:
            next_state = {"m": index + 1, "t": None} if index + 1 < len(markets) else None
        return Page(items=items, next_cursor=json.dumps(next_state) if next_state else None)

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
        """The same quantity to every marketplace the SKU is listed in: a patch per (SKU, marketplace) for a
        few, one feed per marketplace when that takes fewer calls."""
        offers = sum(len(listing_marketplaces(item.channel_data, self.marketplace_ids)) for item in items)
        if offers >= FEED_MIN_ITEMS:
            return self._push_feeds(items)
        return [self._push_patches(item) for item in items]

    def _push_patches(self, item: QuantityPush) -> PushResult:
        errors = []
        for marketplace, product_type in listing_marketplaces(item.channel_data, self.marketplace_ids).items():
            body = {"productType": product_type, "patches": availability_patch(item.quantity)}
            try:
                answer = self.client.patch_listing(item.listing_external_id, marketplace, body)
            except AmazonRejected as refused:  # a 400 for this SKU alone (a malformed SKU): it fails alone
                errors.append(self._where(marketplace, refused.message))
                continue
            error = submission_errors(answer)
            if error:
                errors.append(self._where(marketplace, error))
        if errors:
            return PushResult(listing_external_id=item.listing_external_id, ok=False, error="; ".join(errors))
        return PushResult(listing_external_id=item.listing_external_id, ok=True, channel_quantity=item.quantity)

    def _where(self, marketplace: str, error: str) -> str:
        return f"{marketplace}: {error}" if len(self.marketplace_ids) > 1 else error

    def _push_feeds(self, items: list[QuantityPush]) -> list[PushResult]:
        """One JSON_LISTINGS_FEED per marketplace with the SKUs listed there; each item comes back pending
        on the feeds that carry it (`feed:<id>+<id>:<sku>`)."""
        by_market: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            for marketplace, product_type in listing_marketplaces(item.channel_data, self.marketplace_ids).items():
                if product_type:
                    by_market.setdefault(marketplace, []).append({
                        "sku": item.listing_external_id, "operationType": "PATCH", "productType": product_type,
                        "patches": availability_patch(item.quantity)})
        feeds_of: dict[str, list[str]] = {}
        for marketplace, messages in by_market.items():
            document = {"header": {"sellerId": self.client.seller_id, "version": "2.0", "issueLocale": "en_US"},
                        "messages": [{"messageId": n, **message} for n, message in enumerate(messages, start=1)]}
            feed_id = self.client.feed_submit(document, [marketplace])
            for message in messages:
                feeds_of.setdefault(message["sku"], []).append(feed_id)
        return [PushResult(listing_external_id=item.listing_external_id, ok=False,
                           pending_ref=f"{FEED_REF}{'+'.join(feeds_of[item.listing_external_id])}:"
                                       f"{item.listing_external_id}")
                if item.listing_external_id in feeds_of else
                PushResult(listing_external_id=item.listing_external_id, ok=False,
                           error="Amazon has no product type for this listing; import the listings again.")
                for item in items]

    def push_results(self, refs: list[str]) -> list[PushResult]:
        """Each feed once: still processing → the ref again; DONE → the report's errors per SKU (refused: held
        until the quantity changes); FATAL or CANCELLED → every SKU of it failed but retryable (Amazon kept its
        old quantities and refused nothing in particular). A SKU sent in several feeds is decided when all are."""
        outcomes: dict[str, tuple[str, dict[str, str]]] = {}
        results: list[PushResult] = []
        for ref in refs:
            if not ref.startswith(FEED_REF):
                raise Rejected(f"not an Amazon feed reference: {ref!r}")
            feed_ids, _, sku = ref[len(FEED_REF):].partition(":")
            errors, waiting, refused = [], False, False
            for feed_id in feed_ids.split("+"):
                if feed_id not in outcomes:
                    status = self.client.feed_status(feed_id)
                    state = str(status.get("processingStatus") or "")
                    found = (report_errors(self.client.feed_report(status["resultFeedDocumentId"]))
                             if state == "DONE" and status.get("resultFeedDocumentId") else {})
                    outcomes[feed_id] = (state, found)
                state, found = outcomes[feed_id]
                if state in ("IN_QUEUE", "IN_PROGRESS"):
                    waiting = True
                elif sku in found:  # the report names this SKU: Amazon refused it
                    errors.append(found[sku])
                    refused = True
                elif state != "DONE":  # the feed as a whole died: nothing said about this SKU, send it again
                    errors.append(f"Amazon's feed {feed_id} ended {state}")
            if waiting:
                results.append(PushResult(listing_external_id=sku, ok=False, pending_ref=ref))
            elif errors:
                results.append(PushResult(listing_external_id=sku, ok=False, error="; ".join(errors),
                                          retryable=not refused))
            else:
                results.append(PushResult(listing_external_id=sku, ok=True))
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
