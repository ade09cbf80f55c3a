"""The fake Amazon: Login with Amazon's token endpoint and the Selling Partner API operations we call, on one
threaded loopback server (channels-and-carriers.md §3; Amazon's models in ../shared/realworld/amazon/models/).

Every request is checked against the model of its operation (query and path parameters, JSON bodies), and
every answer the fake gives is validated against the model before it leaves (schema.py): a violation on our
side is a 400 `InvalidInput`; one on the fake's side is recorded in `crashes` (the fixture fails the test).

Run-time rules the models do not carry, kept here:
- LWA (`POST /auth/o2/token`): form-encoded only (JSON is `invalid_request`); `refresh_token` and
  `authorization_code` grants; an unknown client or a wrong secret is 401 `invalid_client`, a refresh token
  that is unknown, revoked or of another app is 400 `invalid_grant`; `expires_in` is `token_lifetime`
  (3600 unless a test shortens it), in LWA's own JSON shape.
- SP-API: `x-amz-access-token` required; missing, unknown or expired is 403 `Unauthorized` in the `errors`
  envelope (expired says so in `details`).
- A token bucket per (seller, operation) with Amazon's default rate and burst (§3.5); `time_scale` multiplies
  the rates (a test runs Amazon's hours in seconds with the same shape); empty is 429 `QuotaExceeded` with
  `x-amzn-RateLimit-Limit` (sometimes absent on Amazon, so `rate_limit_header` can switch it off).
- searchOrders: exactly one of createdAfter/lastUpdatedAfter, no mixing of the two families, `*Before` at
  least two minutes before now and not before `*After`, maxResultsPerPage 1–100; a paginationToken must come
  with every other parameter unchanged, and expires after 24 hours. Datasets only when asked (`includedData`):
  without FULFILLMENT no fulfilment, without PROCEEDS no total, RECIPIENT/BUYER only for a seller with the role.
  Pending orders carry no prices (Amazon's "payment not authorized").
- confirmShipment: `packageReferenceId` a positive numeric string unique within the order, every item known
  to the order, no item shipped beyond what was ordered, not on a cancelled or pending order; 204 on success.
- patchListingsItem: the JSON Patch on `/attributes/fulfillment_availability` with a `fulfillment_channel_code`;
  an unknown SKU, a wrong productType or a listing set to refuse is `INVALID` with issues; `ACCEPTED` applies.
- Feeds: createFeedDocument → PUT to the returned URL with the same Content-Type → createFeed → getFeed
  (IN_QUEUE, then IN_PROGRESS, then DONE after `feed_polls_until_done` reads) → getFeedDocument → the
  processing report (validated against Amazon's report schema) naming each refused SKU. A listing is
  offered per marketplace with a quantity in each; searchListingsItems and patchListingsItem speak of one
  marketplace, a feed applies to each marketplace it names.
- Tokens (createRestrictedDataToken): only v0's PII resources are restricted (v2026-01-01 needs no RDT,
  Amazon's "Access Orders PII"); a data element asked by an app without the role is 400 InvalidInput
  "Application does not have access to one or more requested data elements: [...]", as Amazon answers;
  an RDT opens only the resources it was issued for (anything else is 403 Unauthorized).
- Sellers (getMarketplaceParticipations): the marketplaces the account sells in (`Seller.participating`).
- `fail_next(n, status=500|503)` answers the next n SP-API calls (not LWA) in the `errors` envelope.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import schema
from .state import MARKETPLACES, App, Document, Feed, Item, Listing, Order, Seller, new_id

# Amazon's default usage plans (§3.5): operation -> (rate per second, burst).
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "createRestrictedDataToken": (1.0, 10),
    "patchListingsItem": (5.0, 5),
    "searchListingsItems": (5.0, 5),
    "createFeed": (0.0083, 15),
    "createFeedDocument": (0.5, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "getMarketplaceParticipations": (0.016, 15),
}
# Restricted resources (the Tokens API use case guide): v0's PII operations; v2026-01-01 needs no RDT.
RESTRICTED_PATHS = (r"/orders/v0/orders", r"/orders/v0/orders/[^/]+", r"/orders/v0/orders/[^/]+/address",
                    r"/orders/v0/orders/[^/]+/buyerInfo", r"/orders/v0/orders/[^/]+/orderItems",
                    r"/orders/v0/orders/[^/]+/orderItems/buyerInfo")  # [^/]+ also takes "{orderId}"
RESTRICTED_ELEMENTS = ("buyerInfo", "shippingAddress", "buyerTaxInformation")
RDT_LIFETIME = 3600
TWO_MINUTES = 120.0
TOKEN_TTL = 24 * 3600.0
QUOTA_EXCEEDED = {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.",
                  "details": ""}


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class Refused(Exception):
    """An SP-API error answer: status and one entry of the `errors` envelope."""

    def __init__(self, status: int, code: str, message: str, details: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"errors": [{"code": self.code, "message": self.message, "details": self.details}]}


class LwaRefused(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@dataclass
class Call:
    """One request as the fake saw it; tests and the benchmark count these."""

    at: float
    method: str
    path: str
    operation: str
    status: int = 0
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None
    injected: bool = False
    seller_id: str = ""


@dataclass(frozen=True)
class _Injection:
    status: int
    operation: str | None
    after: int


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RealClock:
    def time(self) -> float:
        return time.time()


class ManualClock:
    """A clock only the test moves (bucket refills, token expiry, `*Before` rules)."""

    def __init__(self, start: float | None = None) -> None:
        self.now = start if start is not None else datetime(2026, 11, 2, 12, 0, tzinfo=UTC).timestamp()

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


ROUTES: list[tuple[str, re.Pattern[str], str, str]] = [
    ("GET", re.compile(r"/orders/2026-01-01/orders"), "orders", "searchOrders"),
    ("GET", re.compile(r"/orders/2026-01-01/orders/(?P<orderId>[^/]+)"), "orders", "getOrder"),
    ("POST", re.compile(r"/orders/v0/orders/(?P<orderId>[^/]+)/shipmentConfirmation"), "ordersV0", "confirmShipment"),
    ("POST", re.compile(r"/tokens/2021-03-01/restrictedDataToken"), "tokens", "createRestrictedDataToken"),
    ("GET", re.compile(r"/sellers/v1/marketplaceParticipations"), "sellers", "getMarketplaceParticipations"),
    ("GET", re.compile(r"/listings/2021-08-01/items/(?P<sellerId>[^/]+)"), "listings", "searchListingsItems"),
    ("PATCH", re.compile(r"/listings/2021-08-01/items/(?P<sellerId>[^/]+)/(?P<sku>[^/]+)"), "listings",
     "patchListingsItem"),
    ("POST", re.compile(r"/feeds/2021-06-30/documents"), "feeds", "createFeedDocument"),
    ("POST", re.compile(r"/feeds/2021-06-30/feeds"), "feeds", "createFeed"),
    ("GET", re.compile(r"/feeds/2021-06-30/feeds/(?P<feedId>[^/]+)"), "feeds", "getFeed"),
    ("GET", re.compile(r"/feeds/2021-06-30/documents/(?P<feedDocumentId>[^/]+)"), "feeds", "getFeedDocument"),
]


class AmazonFake:
    def __init__(self, *, clock: RealClock | ManualClock | None = None, time_scale: float = 1.0,
                 token_lifetime: int = 3600, feed_polls_until_done: int = 2, rate_limit_header: bool = True) -> None:
        self.clock = clock or RealClock()
        self.time_scale = time_scale
        self.token_lifetime = token_lifetime
        self.feed_polls_until_done = feed_polls_until_done
        self.rate_limit_header = rate_limit_header
        self.lock = threading.RLock()
        self.apps: dict[str, App] = {}
        self.sellers: dict[str, Seller] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # access token -> (seller id, expires at)
        self.restricted_tokens: dict[str, list[dict[str, Any]]] = {}  # RDT -> the resources it was issued for
        self.auth_codes: dict[str, str] = {}  # spapi_oauth_code -> seller id
        self.orders: dict[str, Order] = {}
        self.listings: dict[tuple[str, str], Listing] = {}
        self.feeds: dict[str, Feed] = {}
        self.documents: dict[str, Document] = {}
        self.feed_reads: dict[str, int] = {}
        self.page_tokens: dict[str, tuple[str, dict[str, Any], int, float, float]] = {}
        self.buckets: dict[tuple[str, str], _Bucket] = {}
        self.log: list[Call] = []
        self.lwa_log: list[dict[str, str]] = []
        self.crashes: list[str] = []
        self._injected: deque[_Injection] = deque()
        self._server: ThreadingHTTPServer | None = None
        self._order_seq = 0

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> AmazonFake:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="amazon-fake",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> AmazonFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def lwa_url(self) -> str:
        return f"{self.base_url}/auth/o2/token"

    # ---------------------------------------------------------------- seeding

    def add_app(self) -> App:
        with self.lock:
            app = App(client_id=f"amzn1.application-oa2-client.{new_id(length=32).lower()}",
                      client_secret=f"amzn1.oa2-cs.v1.{new_id(length=48).lower()}")
            self.apps[app.client_id] = app
            return app

    def add_seller(self, app: App, *, marketplace_ids: list[str] | None = None, pii_role: bool = True) -> Seller:
        with self.lock:
            seller = Seller(seller_id=new_id("A", 13), refresh_token=f"Atzr|{new_id(length=40)}",
                            client_id=app.client_id, marketplace_ids=list(marketplace_ids or ["ATVPDKIKX0DER"]),
                            pii_role=pii_role)
            self.sellers[seller.seller_id] = seller
            return seller

    def authorization_code(self, seller: Seller) -> str:
        """What Seller Central hands our callback as `spapi_oauth_code` after the seller consents."""
        with self.lock:
            code = new_id("ANd", 20)
            self.auth_codes[code] = seller.seller_id
            return code

    def add_order(self, seller: Seller, lines: list[tuple[str, int, str]], *, status: str = "UNSHIPPED",
                  fulfilled_by: str = "MERCHANT", marketplace_id: str | None = None, shipping: str = "0.00",
                  created: float | None = None) -> Order:
        """`lines`: (sku, quantity, unit price). Times default to now minus five minutes (searchOrders
        only shows what is two minutes old)."""
        with self.lock:
            self._order_seq += 1
            now = self.clock.time()
            at = created if created is not None else now - 300
            seq = self._order_seq
            order = Order(
                order_id=f"{111 + seq % 800:03d}-{seq:07d}-{int(at) % 10_000_000:07d}", seller_id=seller.seller_id,
                marketplace_id=marketplace_id or seller.marketplace_ids[0], created=at, updated=at, status=status,
                fulfilled_by=fulfilled_by, shipping=Decimal(shipping),
                items=[Item(order_item_id=f"{seq:07d}{n:07d}", sku=sku, asin=f"B0{seq:04d}{n:04d}"[:10],
                            title=f"Item {sku}", quantity=qty, unit_price=Decimal(price))
                       for n, (sku, qty, price) in enumerate(lines, start=1)],
                recipient={"deliveryAddress": {"name": f"Buyer {seq}", "addressLine1": f"{seq} Example St",
                                               "city": "Seattle", "stateOrRegion": "WA", "postalCode": "98101",
                                               "countryCode": "US", "addressType": "RESIDENTIAL"}},
                buyer={"buyerName": f"Buyer {seq}", "buyerEmail": f"buyer{seq}@marketplace.amazon.com"})
            self.orders[order.order_id] = order
            return order

    def set_status(self, order_id: str, status: str, *, after: float = 1.0) -> None:
        """The order changes on Amazon (a payment authorised, a cancellation): lastUpdatedTime moves on."""
        with self.lock:
            order = self.orders[order_id]
            order.status = status
            order.updated = max(order.updated + after, self.clock.time() - 300 + after)

    def add_listing(self, seller: Seller, sku: str, *, quantity: int = 0, product_type: str = "HOME",
                    title: str = "", marketplace_ids: list[str] | None = None) -> Listing:
        """A SKU offered in `marketplace_ids` (default: the seller's first marketplace), `quantity` in each."""
        with self.lock:
            now = self.clock.time() - 3600
            markets = list(marketplace_ids or seller.marketplace_ids[:1])
            listing = Listing(seller_id=seller.seller_id, sku=sku, product_type=product_type,
                              asin=f"B0{abs(hash(sku)) % 10**8:08d}", title=title or f"Listing {sku}",
                              quantities=dict.fromkeys(markets, quantity), created=now, updated=now)
            self.listings[(seller.seller_id, sku)] = listing
            return listing

    def refuse_sku(self, seller: Seller, sku: str, code: str = "90220",
                   message: str = "'[batteries_required]' is required but not supplied.") -> None:
        with self.lock:
            self.listings[(seller.seller_id, sku)].refuse = (code, message)

    def revoke(self, seller: Seller) -> None:
        """The seller removes our app's authorisation: its refresh token stops working."""
        with self.lock:
            seller.revoked = True

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {token: (seller, 0.0) for token, (seller, _) in self.tokens.items()}

    # ---------------------------------------------------------------- failure injection, inspection

    def fail_next(self, count: int, *, status: int = 500, operation: str | None = None, after: int = 0) -> None:
        """Answer `count` SP-API calls with `status` (500, 503, or 429 `QuotaExceeded` as a throttling storm)
        without executing them: the next ones, or those of `operation` once `after` of its calls succeeded."""
        with self.lock:
            self._injected.extend([_Injection(status, operation, after)] * count)

    def calls(self, operation: str | None = None, *, injected: bool | None = None,
              status: int | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.log if (operation is None or c.operation == operation)
                    and (injected is None or c.injected == injected) and (status is None or c.status == status)]

    def token_exchanges(self) -> int:
        with self.lock:
            return sum(1 for entry in self.lwa_log if entry.get("outcome") == "issued")

    # ---------------------------------------------------------------- LWA

    def lwa(self, content_type: str, raw: bytes) -> dict[str, Any]:
        if not content_type.lower().startswith("application/x-www-form-urlencoded"):
            raise LwaRefused(400, "invalid_request", "The request has a wrong Content-Type; use "
                                                     "application/x-www-form-urlencoded.")
        form = {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        with self.lock:
            entry = {"grant_type": form.get("grant_type", ""), "outcome": ""}
            self.lwa_log.append(entry)
            app = self.apps.get(form.get("client_id", ""))
            if app is None or app.client_secret != form.get("client_secret"):
                entry["outcome"] = "invalid_client"
                raise LwaRefused(401, "invalid_client", "Client authentication failed")
            grant = form.get("grant_type")
            if grant == "refresh_token":
                seller = next((s for s in self.sellers.values() if s.refresh_token == form.get("refresh_token")), None)
                if seller is None or seller.revoked or seller.client_id != app.client_id:
                    entry["outcome"] = "invalid_grant"
                    raise LwaRefused(400, "invalid_grant", "The request has an invalid grant parameter : "
                                                           "refresh_token")
            elif grant == "authorization_code":
                seller_id = self.auth_codes.pop(form.get("code", ""), None)
                seller = self.sellers.get(seller_id or "")
                if seller is None or seller.client_id != app.client_id:
                    entry["outcome"] = "invalid_grant"
                    raise LwaRefused(400, "invalid_grant", "The request has an invalid grant parameter : code")
            else:
                entry["outcome"] = "unsupported_grant_type"
                raise LwaRefused(400, "unsupported_grant_type", "Invalid grant_type")
            token = f"Atza|{new_id(length=48)}"
            self.tokens[token] = (seller.seller_id, self.clock.time() + self.token_lifetime)
            entry["outcome"] = "issued"
            body = {"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime}
            if grant == "authorization_code":
                body["refresh_token"] = seller.refresh_token
            return body

    # ---------------------------------------------------------------- SP-API dispatch

    def authenticate(self, token: str | None) -> Seller:
        if not token:
            raise Refused(403, "Unauthorized", "Access to requested resource is denied.",
                          "The request has no x-amz-access-token.")
        seller_id, expires = self.tokens.get(token, ("", 0.0))
        if not seller_id:
            raise Refused(403, "Unauthorized", "Access to requested resource is denied.", "")
        if expires <= self.clock.time():
            raise Refused(403, "Unauthorized", "Access to requested resource is denied.",
                          "The access token you provided has expired.")
        return self.sellers[seller_id]

    def take(self, seller: Seller, operation: str) -> None:
        rate, burst = USAGE_PLANS[operation]
        rate *= self.time_scale
        now = self.clock.time()
        bucket = self.buckets.setdefault((seller.seller_id, operation), _Bucket(float(burst), now))
        bucket.tokens = min(float(burst), bucket.tokens + max(0.0, now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens < 1.0:
            headers = {"x-amzn-RateLimit-Limit": f"{USAGE_PLANS[operation][0]}"} if self.rate_limit_header else {}
            raise Refused(429, **QUOTA_EXCEEDED, headers=headers)
        bucket.tokens -= 1.0

    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
               raw: bytes) -> tuple[int, Any, dict[str, str], str, Call]:
        """(status, body, extra headers, operation, call record) for one SP-API request."""
        call = Call(at=self.clock.time(), method=method, path=path, operation="", query=query)
        found = next(((m, model, op, match) for m, pattern, model, op in ROUTES
                      if m == method and (match := pattern.fullmatch(path))), None)
        if found is None:
            call.status = 404
            return 404, {"errors": [{"code": "NotFound", "message": "Resource not found", "details": ""}]}, {}, "", call
        _, model_name, operation, match = found
        call.operation = operation
        extra: dict[str, str] = {}
        with self.lock:
            self.log.append(call)
            try:
                injection = self._injection_for(operation)
                if injection is not None:
                    call.injected = True
                    if injection.status == 429:
                        raise Refused(429, **QUOTA_EXCEEDED)
                    raise Refused(injection.status,
                                  "InternalFailure" if injection.status == 500 else "ServiceUnavailable",
                                  "We encountered an internal error. Please try again.")
                token = headers.get("x-amz-access-token")
                seller = self.authenticate(token)
                if token in self.restricted_tokens and not any(
                        r["method"] == method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", r["path"]), path)
                        for r in self.restricted_tokens[token]):
                    raise Refused(403, "Unauthorized", "Access to requested resource is denied.",
                                  "The restricted data token was not issued for this resource.")
                call.seller_id = seller.seller_id
                self.take(seller, operation)
                if self.rate_limit_header:
                    extra["x-amzn-RateLimit-Limit"] = f"{USAGE_PLANS[operation][0]}"
                path_params = {k: unquote(v) for k, v in match.groupdict().items()}
                try:
                    params = schema.parameters(model_name, operation, query, path_params)
                    body = json.loads(raw) if raw else None
                    if method in ("POST", "PATCH", "PUT"):
                        schema.request_body(model_name, operation, body)
                except (schema.ContractError, ValueError) as exc:
                    raise Refused(400, "InvalidInput", str(exc)) from exc
                call.body = body
                status, answer = getattr(self, f"_op_{operation}")(seller, params, body)
            except Refused as refused:
                status, answer = refused.status, refused.body()
                extra.update(refused.headers)
            call.status = status
        try:
            schema.response_body(model_name, operation, status, answer if status != 204 else None)
        except schema.ContractError as exc:
            self.crashes.append(str(exc))
        return status, answer, extra, operation, call

    def _injection_for(self, operation: str) -> _Injection | None:
        """The first planned failure that applies to this call (caller holds the lock)."""
        for index, injection in enumerate(self._injected):
            if injection.operation not in (None, operation):
                continue
            done = sum(1 for c in self.log[:-1] if c.operation == operation and c.status < 400)
            if done < injection.after:
                return None
            del self._injected[index]
            return injection
        return None

    # ---------------------------------------------------------------- orders

    def _render(self, order: Order, included: set[str], seller: Seller) -> dict[str, Any]:
        name, _ = MARKETPLACES.get(order.marketplace_id, ("Amazon", "USD"))
        priced = order.status not in ("PENDING", "PENDING_AVAILABILITY")
        items = []
        for item in order.items:
            product: dict[str, Any] = {"asin": item.asin, "sellerSku": item.sku, "title": item.title}
            if priced:
                product["price"] = {"unitPrice": {"amount": f"{item.unit_price:.2f}", "currencyCode": order.currency}}
            rendered: dict[str, Any] = {"orderItemId": item.order_item_id, "quantityOrdered": item.quantity,
                                        "product": product}
            if "FULFILLMENT" in included:
                rendered["fulfillment"] = {"quantityFulfilled": item.shipped,
                                           "quantityUnfulfilled": item.quantity - item.shipped}
            if "PROCEEDS" in included and priced:
                rendered["proceeds"] = {"proceedsTotal": {"amount": f"{item.unit_price * item.quantity:.2f}",
                                                          "currencyCode": order.currency}}
            items.append(rendered)
        body: dict[str, Any] = {
            "orderId": order.order_id, "createdTime": iso(order.created), "lastUpdatedTime": iso(order.updated),
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": order.marketplace_id, "marketplaceName": name},
            "orderItems": items}
        if "FULFILLMENT" in included:
            body["fulfillment"] = {"fulfillmentStatus": order.status, "fulfilledBy": order.fulfilled_by,
                                   "fulfillmentServiceLevel": "STANDARD",
                                   "shipByWindow": {"earliestDateTime": iso(order.created),
                                                    "latestDateTime": iso(order.created + 2 * 86400)}}
        if "PROCEEDS" in included and priced:
            items_total = order.total() - order.shipping
            body["proceeds"] = {"grandTotal": {"amount": f"{order.total():.2f}", "currencyCode": order.currency},
                                "breakdowns": [
                                    {"type": "ITEM", "subtotal": {"amount": f"{items_total:.2f}",
                                                                  "currencyCode": order.currency}},
                                    {"type": "SHIPPING", "subtotal": {"amount": f"{order.shipping:.2f}",
                                                                      "currencyCode": order.currency}}]}
        if "RECIPIENT" in included and seller.pii_role:
            body["recipient"] = order.recipient
        if "BUYER" in included and seller.pii_role:
            body["buyer"] = order.buyer
        if "PACKAGES" in included and order.packages:
            body["packages"] = order.packages
        return body

    def _op_searchOrders(self, seller: Seller, params: dict[str, Any], body: Any) -> tuple[int, Any]:  # noqa: N802
        token = params.pop("paginationToken", None)
        now = self.clock.time()
        if token is not None:
            stored = self.page_tokens.get(token)
            if stored is None or stored[0] != seller.seller_id:
                raise Refused(400, "InvalidInput", "Invalid paginationToken.")
            _, original, offset, before, issued = stored
            if now - issued > TOKEN_TTL:
                raise Refused(400, "InvalidInput", "The paginationToken has expired.")
            if params != original:
                raise Refused(400, "InvalidInput", "A paginationToken must be sent with the same parameters as the "
                                                   "request that returned it.")
        else:
            offset = 0
            before = self._search_window(params, now)
        created_family = "createdAfter" in params
        after = parse_iso(params["createdAfter" if created_family else "lastUpdatedAfter"])
        size = params.get("maxResultsPerPage", 100)
        if not 1 <= size <= 100:
            raise Refused(400, "InvalidInput", "maxResultsPerPage must be between 1 and 100.")
        markets = set(params.get("marketplaceIds") or seller.marketplace_ids)
        statuses = set(params.get("fulfillmentStatuses") or [])
        by = set(params.get("fulfilledBy") or [])
        moment = (lambda o: o.created) if created_family else (lambda o: o.updated)
        matching = sorted((o for o in self.orders.values()
                           if o.seller_id == seller.seller_id and o.marketplace_id in markets
                           and after <= moment(o) <= before and (not statuses or o.status in statuses)
                           and (not by or o.fulfilled_by in by)), key=lambda o: (moment(o), o.order_id))
        page = matching[offset:offset + size]
        included = set(params.get("includedData") or [])
        answer: dict[str, Any] = {"orders": [self._render(o, included, seller) for o in page]}
        answer["createdBefore" if created_family else "lastUpdatedBefore"] = iso(before)
        if offset + size < len(matching):
            next_token = new_id(length=28)
            self.page_tokens[next_token] = (seller.seller_id, dict(params), offset + size, before, now)
            answer["pagination"] = {"nextToken": next_token}
        return 200, answer

    @staticmethod
    def _search_window(params: dict[str, Any], now: float) -> float:
        created = [k for k in ("createdAfter", "createdBefore") if k in params]
        updated = [k for k in ("lastUpdatedAfter", "lastUpdatedBefore") if k in params]
        if created and updated:
            raise Refused(400, "InvalidInput", "createdAfter/createdBefore cannot be combined with "
                                               "lastUpdatedAfter/lastUpdatedBefore.")
        if ("createdAfter" in params) == ("lastUpdatedAfter" in params):
            raise Refused(400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required.")
        family = "created" if created else "lastUpdated"
        after = parse_iso(params[f"{family}After"])
        latest = now - TWO_MINUTES
        if after > latest:
            raise Refused(400, "InvalidInput", f"{family}After must be at least two minutes before now.")
        before_key = f"{family}Before"
        if before_key not in params:
            return latest
        before = parse_iso(params[before_key])
        if before > latest:
            raise Refused(400, "InvalidInput", f"{before_key} must be at least two minutes before now.")
        if before < after:
            raise Refused(400, "InvalidInput", f"{before_key} must be after {family}After.")
        return before

    def _op_getOrder(self, seller: Seller, params: dict[str, Any], body: Any) -> tuple[int, Any]:  # noqa: N802
        order = self.orders.get(params["orderId"])
        if order is None or order.seller_id != seller.seller_id:
            raise Refused(404, "NotFound", f"Order {params['orderId']} was not found.")
        return 200, {"order": self._render(order, set(params.get("includedData") or []), seller)}

    def _op_confirmShipment(self, seller: Seller, params: dict[str, Any], body: Any) -> tuple[int, Any]:  # noqa: N802
        order = self.orders.get(params["orderId"])
        if order is None or order.seller_id != seller.seller_id:
            raise Refused(404, "NotFound", f"Order {params['orderId']} was not found.")
        if body["marketplaceId"] != order.marketplace_id:
            raise Refused(400, "InvalidInput", "marketplaceId does not match the order.")
        detail = body["packageDetail"]
        reference = detail["packageReferenceId"]
        if not isinstance(reference, str) or not reference.isdigit() or int(reference) < 1:
            raise Refused(400, "InvalidInput", "packageReferenceId must be a positive numeric string.")
        if any(p["packageReferenceId"] == reference for p in order.packages):
            raise Refused(400, "InvalidInput", f"packageReferenceId {reference} was already used for this order.")
        if order.status in ("PENDING", "PENDING_AVAILABILITY", "CANCELLED") or order.fulfilled_by != "MERCHANT":
            raise Refused(400, "InvalidInput", f"The order cannot be confirmed in status {order.status}.")
        if detail["carrierCode"] == "Other" and not detail.get("carrierName"):
            raise Refused(400, "InvalidInput", "carrierName is required when carrierCode is Other.")
        items = {i.order_item_id: i for i in order.items}
        counted: dict[str, int] = {}
        for line in detail["orderItems"]:
            if line["orderItemId"] not in items:
                raise Refused(400, "InvalidInput", f"orderItemId {line['orderItemId']} is not in the order.")
            counted[line["orderItemId"]] = counted.get(line["orderItemId"], 0) + int(line["quantity"])
        for item_id, quantity in counted.items():
            item = items[item_id]
            if quantity < 1 or item.shipped + quantity > item.quantity:
                raise Refused(400, "InvalidInput", f"orderItemId {item_id}: quantity {quantity} exceeds what is "
                                                   f"left to ship ({item.quantity - item.shipped}).")
        for item_id, quantity in counted.items():
            items[item_id].shipped += quantity
        order.packages.append({"packageReferenceId": reference, "carrier": detail["carrierCode"],
                               "trackingNumber": detail["trackingNumber"], "shipTime": detail["shipDate"]})
        order.status = ("SHIPPED" if all(i.shipped == i.quantity for i in order.items) else "PARTIALLY_SHIPPED")
        order.updated = max(order.updated + 1, self.clock.time() - 300)
        return 204, None

    def _op_createRestrictedDataToken(self, seller: Seller, params: dict[str, Any], body: Any,  # noqa: N802
                                      ) -> tuple[int, Any]:
        """An RDT for restricted resources (v0's PII operations). A restricted data element asked by an app
        without its role is refused as Amazon refuses it: 400 InvalidInput naming the elements; a path that
        is not a restricted resource, likewise. The token is bound to the resources it was issued for."""
        elements: list[str] = []
        for resource in body["restrictedResources"]:
            if not any(re.fullmatch(pattern, resource["path"]) for pattern in RESTRICTED_PATHS):
                raise Refused(400, "InvalidInput", "Application do not have access to some or all requested "
                                                   "resource")
            elements += [e for e in resource.get("dataElements") or [] if e not in elements]
        unknown = [e for e in elements if e not in RESTRICTED_ELEMENTS]
        if unknown:
            raise Refused(400, "InvalidInput", f"Invalid dataElements: [{', '.join(unknown)}]")
        if elements and not seller.pii_role and seller.rdt_refusal == 403:
            raise Refused(403, "Unauthorized", "Access to requested resource is denied.", "")
        if elements and not seller.pii_role:
            raise Refused(400, "InvalidInput", "Application does not have access to one or more requested data "
                                               f"elements: [{', '.join(elements)}]")
        token = f"Atz.sprdt|{new_id(length=40)}"
        self.tokens[token] = (seller.seller_id, self.clock.time() + RDT_LIFETIME)
        self.restricted_tokens[token] = [dict(r) for r in body["restrictedResources"]]
        return 200, {"restrictedDataToken": token, "expiresIn": RDT_LIFETIME}

    # ---------------------------------------------------------------- sellers

    def _op_getMarketplaceParticipations(self, seller: Seller, params: dict[str, Any], body: Any,  # noqa: N802
                                         ) -> tuple[int, Any]:
        payload = []
        for marketplace_id in seller.participates():
            name, currency = MARKETPLACES.get(marketplace_id, ("Amazon", "USD"))
            country = {"ATVPDKIKX0DER": "US", "A2EUQ1WTGCTBG2": "CA", "A1F83G8C2ARO7P": "GB",
                       "A1PA6795UKMFR9": "DE"}.get(marketplace_id, "US")
            payload.append({"marketplace": {"id": marketplace_id, "name": name, "countryCode": country,
                                            "defaultCurrencyCode": currency, "defaultLanguageCode": "en_US",
                                            "domainName": "www." + name.lower()},
                            "participation": {"isParticipating": True, "hasSuspendedListings": False}})
        return 200, {"payload": payload}

    # ---------------------------------------------------------------- listings

    def _item(self, listing: Listing, included: list[str], marketplace_id: str) -> dict[str, Any]:
        item: dict[str, Any] = {"sku": listing.sku}
        if "summaries" in included:
            item["summaries"] = [{"marketplaceId": marketplace_id, "asin": listing.asin,
                                  "productType": listing.product_type, "conditionType": "new_new",
                                  "status": ["BUYABLE", "DISCOVERABLE"], "itemName": listing.title,
                                  "createdDate": iso(listing.created), "lastUpdatedDate": iso(listing.updated)}]
        if "fulfillmentAvailability" in included:
            item["fulfillmentAvailability"] = [{"fulfillmentChannelCode": "DEFAULT",
                                                "quantity": listing.quantities[marketplace_id]}]
        if "issues" in included:  # a listing set to refuse carries Amazon's issue, as Seller Central shows it
            item["issues"] = [] if listing.refuse is None else [{
                "code": listing.refuse[0], "message": listing.refuse[1], "severity": "ERROR",
                "attributeNames": ["fulfillment_availability"], "categories": ["MISSING_ATTRIBUTE"]}]
        return item

    def _seller_path(self, seller: Seller, params: dict[str, Any]) -> None:
        if params["sellerId"] != seller.seller_id:
            raise Refused(403, "Unauthorized", "Access to requested resource is denied.",
                          "The sellerId does not match the authorised seller.")

    def _op_searchListingsItems(self, seller: Seller, params: dict[str, Any], body: Any,  # noqa: N802
                                ) -> tuple[int, Any]:
        self._seller_path(seller, params)
        size = params.get("pageSize", 10)
        included = params.get("includedData") or ["summaries"]
        marketplace = params["marketplaceIds"][0]
        if len(params["marketplaceIds"]) > 1:
            raise Refused(400, "InvalidInput", "searchListingsItems takes one marketplaceId.")
        mine = sorted((lst for (sid, _), lst in self.listings.items()
                       if sid == seller.seller_id and marketplace in lst.quantities), key=lambda lst: lst.sku)
        if params.get("identifiersType") == "SKU" and params.get("identifiers"):
            wanted = set(params["identifiers"])
            mine = [lst for lst in mine if lst.sku in wanted]
        offset = 0
        if "pageToken" in params:
            stored = self.page_tokens.get(params["pageToken"])
            if stored is None:
                raise Refused(400, "InvalidInput", "Invalid pageToken.")
            offset = stored[2]
        page = mine[offset:offset + size]
        answer: dict[str, Any] = {"numberOfResults": len(mine),
                                  "items": [self._item(lst, included, marketplace) for lst in page]}
        if offset + size < len(mine):
            token = new_id(length=28)
            self.page_tokens[token] = (seller.seller_id, {}, offset + size, 0.0, self.clock.time())
            answer["pagination"] = {"nextToken": token}
        return 200, answer

    def _patch_issues(self, listing: Listing | None, product_type: str, patches: list[dict[str, Any]],
                      marketplace_id: str) -> tuple[list[dict[str, Any]], int | None]:
        """The issues a patch raises, and the quantity it sets when it has none."""
        if listing is None or marketplace_id not in listing.quantities:
            return [{"code": "4000001", "message": "The SKU does not exist for this seller.", "severity": "ERROR",
                     "categories": ["INVALID_ATTRIBUTE"]}], None
        if listing.refuse is not None:
            return [{"code": listing.refuse[0], "message": listing.refuse[1], "severity": "ERROR",
                     "attributeNames": ["fulfillment_availability"], "categories": ["MISSING_ATTRIBUTE"]}], None
        if product_type != listing.product_type:
            return [{"code": "4000003", "message": f"The product type {product_type} does not match the listing's "
                                                   f"{listing.product_type}.", "severity": "ERROR",
                     "categories": ["INVALID_ATTRIBUTE"]}], None
        quantity = None
        for patch in patches:
            if patch["path"] != "/attributes/fulfillment_availability" or patch["op"] not in ("merge", "replace"):
                return [{"code": "4000002", "message": f"Unsupported patch {patch['op']} {patch['path']}.",
                         "severity": "ERROR", "categories": ["INVALID_ATTRIBUTE"]}], None
            for value in patch.get("value") or []:
                if not value.get("fulfillment_channel_code") or not isinstance(value.get("quantity"), int) \
                        or value["quantity"] < 0:
                    return [{"code": "90244", "message": "fulfillment_availability needs a fulfillment_channel_code "
                                                         "and a quantity of 0 or more.", "severity": "ERROR",
                             "attributeNames": ["fulfillment_availability"], "categories": ["INVALID_ATTRIBUTE"]}], None
                quantity = value["quantity"]
        return [], quantity

    def _op_patchListingsItem(self, seller: Seller, params: dict[str, Any], body: Any,  # noqa: N802
                              ) -> tuple[int, Any]:
        self._seller_path(seller, params)
        listing = self.listings.get((seller.seller_id, params["sku"]))
        marketplace = params["marketplaceIds"][0]
        issues, quantity = self._patch_issues(listing, body["productType"], body["patches"], marketplace)
        submission = new_id(length=32).lower()
        if issues:
            return 200, {"sku": params["sku"], "status": "INVALID", "submissionId": submission, "issues": issues}
        assert listing is not None
        listing.submissions += 1
        if params.get("mode") != "VALIDATION_PREVIEW" and quantity is not None:
            listing.quantities[marketplace] = quantity
            listing.updated = self.clock.time()
        status = "VALID" if params.get("mode") == "VALIDATION_PREVIEW" else "ACCEPTED"
        return 200, {"sku": params["sku"], "status": status, "submissionId": submission, "issues": []}

    # ---------------------------------------------------------------- feeds

    def _op_createFeedDocument(self, seller: Seller, params: dict[str, Any], body: Any,  # noqa: N802
                               ) -> tuple[int, Any]:
        document = Document(document_id=f"amzn1.tortuga.4.na.{new_id(length=24).lower()}",
                            content_type=body["contentType"])
        self.documents[document.document_id] = document
        return 201, {"feedDocumentId": document.document_id,
                     "url": f"{self.base_url}/uploads/{document.document_id}"}

    def upload(self, document_id: str, content_type: str, raw: bytes) -> int:
        """The presigned URL's PUT: S3 answers 403 for a Content-Type other than the one signed."""
        with self.lock:
            document = self.documents.get(document_id)
            if document is None:
                return 404
            if content_type != document.content_type:
                return 403
            document.content = raw
            return 200

    def _op_createFeed(self, seller: Seller, params: dict[str, Any], body: Any) -> tuple[int, Any]:  # noqa: N802
        document = self.documents.get(body["inputFeedDocumentId"])
        if document is None or document.content is None:
            raise Refused(400, "InvalidInput", "inputFeedDocumentId names no uploaded document.")
        feed = Feed(feed_id=str(50_000_000_000 + len(self.feeds) + 1), seller_id=seller.seller_id,
                    feed_type=body["feedType"], marketplace_ids=list(body["marketplaceIds"]),
                    document_id=document.document_id, created=self.clock.time())
        self.feeds[feed.feed_id] = feed
        self.feed_reads[feed.feed_id] = 0
        return 202, {"feedId": feed.feed_id}

    def _op_getFeed(self, seller: Seller, params: dict[str, Any], body: Any) -> tuple[int, Any]:  # noqa: N802
        feed = self.feeds.get(params["feedId"])
        if feed is None or feed.seller_id != seller.seller_id:
            raise Refused(404, "NotFound", "The feed was not found.")
        self.feed_reads[feed.feed_id] += 1
        if feed.status in ("IN_QUEUE", "IN_PROGRESS"):
            feed.status = "IN_PROGRESS"
            if self.feed_reads[feed.feed_id] >= self.feed_polls_until_done:
                self._process(feed, seller)
        answer: dict[str, Any] = {"feedId": feed.feed_id, "feedType": feed.feed_type,
                                  "marketplaceIds": feed.marketplace_ids, "createdTime": iso(feed.created),
                                  "processingStatus": feed.status}
        if feed.result_document_id:
            answer["resultFeedDocumentId"] = feed.result_document_id
        return 200, answer

    def _process(self, feed: Feed, seller: Seller) -> None:
        """Amazon applies the feed: each message like a patchListingsItem; the report names the refused."""
        document = self.documents[feed.document_id]
        try:
            parsed = json.loads(document.content or b"")
            schema.listings_feed(parsed)
        except (ValueError, schema.ContractError):
            feed.status = "FATAL"
            return
        issues: list[dict[str, Any]] = []
        accepted = invalid = 0
        for message in parsed["messages"]:
            listing = self.listings.get((seller.seller_id, message["sku"]))
            found: list[dict[str, Any]] = []
            quantity = None
            for marketplace in feed.marketplace_ids:  # the feed applies to each marketplace it names
                found, quantity = self._patch_issues(listing, message.get("productType", ""),
                                                     message.get("patches", []), marketplace)
                if found:
                    break
            if found:
                invalid += 1
                issues += [{"messageId": message["messageId"], "sku": message["sku"], "code": issue["code"],
                            "severity": issue["severity"], "message": issue["message"]} for issue in found]
                continue
            accepted += 1
            if listing is not None and quantity is not None:
                for marketplace in feed.marketplace_ids:
                    listing.quantities[marketplace] = quantity
                listing.submissions += 1
        report = {"header": {"sellerId": seller.seller_id, "version": "2.0", "feedId": feed.feed_id},
                  "issues": issues,
                  "summary": {"errors": len(issues), "warnings": 0, "messagesProcessed": accepted + invalid,
                              "messagesAccepted": accepted, "messagesInvalid": invalid}}
        try:
            schema.processing_report(report)
        except schema.ContractError as exc:
            self.crashes.append(str(exc))
        result = Document(document_id=f"amzn1.tortuga.4.na.{new_id(length=24).lower()}",
                          content_type="application/json", content=json.dumps(report).encode())
        self.documents[result.document_id] = result
        feed.result_document_id = result.document_id
        feed.status = "DONE"

    def _op_getFeedDocument(self, seller: Seller, params: dict[str, Any], body: Any,  # noqa: N802
                            ) -> tuple[int, Any]:
        document = self.documents.get(params["feedDocumentId"])
        if document is None:
            raise Refused(404, "NotFound", "The feed document was not found.")
        return 200, {"feedDocumentId": document.document_id,
                     "url": f"{self.base_url}/downloads/{document.document_id}"}

    def download(self, document_id: str) -> bytes | None:
        with self.lock:
            document = self.documents.get(document_id)
            return None if document is None else document.content


class _Handler(BaseHTTPRequestHandler):
    fake: AmazonFake
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None, *, raw: bytes | None = None,
              content_type: str = "application/json") -> None:
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        if payload or status != 204:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", new_id(length=32).lower())
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _dispatch(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            fake = self.fake
            if parts.path == "/auth/o2/token" and self.command == "POST":
                try:
                    self._send(200, fake.lwa(self.headers.get("Content-Type", ""), raw))
                except LwaRefused as refused:
                    self._send(refused.status, {"error": refused.error, "error_description": refused.description})
                return
            if parts.path.startswith("/uploads/") and self.command == "PUT":
                status = fake.upload(parts.path.rsplit("/", 1)[1], self.headers.get("Content-Type", ""), raw)
                self._send(status, None, raw=b"")
                return
            if parts.path.startswith("/downloads/") and self.command == "GET":
                content = fake.download(parts.path.rsplit("/", 1)[1])
                self._send(200 if content is not None else 404, None, raw=content or b"")
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, extra, _, _ = fake.handle(self.command, parts.path, parse_qs(parts.query), headers, raw)
            self._send(status, None if status == 204 else body, extra)
        except Exception as exc:  # noqa: BLE001 - a fake bug must fail the test, not hang the client
            self.fake.crashes.append(f"{type(exc).__name__}: {exc}")
            self._send(500, {"errors": [{"code": "InternalFailure", "message": "fake crashed", "details": ""}]})

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch  # noqa: N815 - http.server's names

    def log_message(self, *args: object) -> None:
        pass
