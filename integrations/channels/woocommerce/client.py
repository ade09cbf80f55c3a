"""The WooCommerce REST API v3 over HTTP (channels-and-carriers.md §2). HTTP only: no ORM, no Django models.

- The base URL is the merchant's store URL (`https://shop.example`); every call goes to
  `{store_url}/wp-json/wc/v3/...` (the Shipment Tracking extension's calls to `/wp-json/wc-shipment-tracking/v3/`).
- Authentication follows WooCommerce's own rules (class-wc-rest-authentication.php): over HTTPS the key goes by
  HTTP Basic; over plain HTTP WooCommerce ignores Basic and accepts only OAuth 1.0a one-legged signatures,
  so an `http://` store (allowed only for the hosts the connect form lets through) is signed with oauthlib
  (HMAC-SHA256, a fresh nonce and timestamp on every attempt, in the Authorization header). Keys never go in
  a query string. The signature is computed by the session's `auth` for each request it sends, so a retry
  by core.http is signed anew instead of replaying a nonce WooCommerce refuses.
- Errors become the error family with WooCommerce's `code` and `message` kept (`WooError.code`): 401/403 are
  `AuthFailed` (a revoked key, a read-only key refused on a write: `woocommerce_rest_authentication_error`
  "...does not have write permissions", or a user who may not edit: `woocommerce_rest_cannot_edit`), 429 and a
  503 with `Retry-After` are `Throttled`, other 5xx `Transient`, other 4xx `Rejected` (a 404 whose body is no
  WooCommerce error means `/wp-json/` itself is missing: pretty permalinks are off).
- Lists are read `per_page=100` (WordPress's maximum) page by page until `X-WP-TotalPages`.
- Batches (`/products/batch`, `/products/{parent}/variations/batch`) carry at most 100 objects; an item
  answered with an `error` is returned as a failed item, the others applied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_AUTH_HEADER, Client
from requests.auth import AuthBase, HTTPBasicAuth

from core.http import AuthFailed, Budget, ExternalError, HttpClient, Rejected, Throttled, Transient

logger = logging.getLogger("integrations.woocommerce")

API = "wc/v3"
TRACKING_API = "wc-shipment-tracking/v3"
PER_PAGE = 100  # WordPress core's collection maximum: 101 is a 400 rest_invalid_param
BATCH_LIMIT = 100  # woocommerce_rest_batch_items_limit's default, create + update + delete together
# WooCommerce core has no rate limit; this keeps a crowd of workers from flooding a small shared host.
BUDGET = Budget(rate=5.0, burst=10.0)
WC_DATE = "%Y-%m-%dT%H:%M:%S"


# ---------------------------------------------------------------- errors with WooCommerce's words


class WooError(ExternalError):
    """Mixin: WooCommerce's error `code` and `message` as it sent them ({"code","message","data"})."""

    code: str = ""
    wc_message: str = ""


class WooAuthFailed(WooError, AuthFailed):
    pass


class WooRejected(WooError, Rejected):
    pass


class WooTransient(WooError, Transient):
    pass


class WooThrottled(WooError, Throttled):
    pass


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def error_for(response: requests.Response, what: str) -> WooError | None:
    """The error-family member for a failed response, with WooCommerce's code and message; None on success.
    The message names the call, the status and WooCommerce's own words, never the request (it holds keys)."""
    status = response.status_code
    if status < 400:
        return None
    code, message = "", ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        code, message = str(body.get("code") or ""), str(body.get("message") or "")
    words = f"{what}: {status}" + (f" {code}: {message}" if code else "")
    retry_after = _retry_after(response.headers.get("Retry-After"))
    error: WooError
    if status == 429 or (status == 503 and retry_after is not None):
        error = WooThrottled(words, status=status, retry_after=retry_after)
    elif status in (401, 403):
        error = WooAuthFailed(words, status=status)
    elif status >= 500:
        error = WooTransient(words, status=status)
    elif status == 404 and not code:
        error = WooRejected(f"{what}: 404 and no WooCommerce answer: is the REST API on (pretty permalinks)?",
                            status=status)
        code = "wp_json_missing"
    else:
        error = WooRejected(words, status=status)
    error.code, error.wc_message = code, message
    return error


def _raise_woo_errors(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A session response hook: raising here, inside core.http's send, replaces its status-only
    error with one that keeps WooCommerce's code and message; its retries still apply (Throttled/Transient).
    (When the shared layer keeps the response on its errors, this becomes an except clause.)"""
    error = error_for(response, f"{response.request.method} {urlsplit(response.request.url or '').path}")
    if error is not None:
        logger.info("integrations.woocommerce.refused status=%s code=%s", response.status_code, error.code)
        raise error


# ---------------------------------------------------------------- authentication


class OAuth1OneLegged(AuthBase):
    """WooCommerce's OAuth 1.0a for plain HTTP: consumer key and secret, no token, HMAC-SHA256, the
    parameters in the Authorization header. The JSON body is not signed (WooCommerce signs query and form
    parameters only), so only the method and the full URL go into the signature."""

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        signer = Client(self.consumer_key, client_secret=self.consumer_secret, signature_method=SIGNATURE_HMAC_SHA256,
                        signature_type=SIGNATURE_TYPE_AUTH_HEADER)
        _, headers, _ = signer.sign(request.url, http_method=request.method)
        request.headers["Authorization"] = headers["Authorization"]
        return request


def auth_for(store_url: str, consumer_key: str, consumer_secret: str) -> AuthBase:
    """Basic over HTTPS, OAuth 1.0a over plain HTTP: what WooCommerce accepts on each."""
    if urlsplit(store_url).scheme == "https":
        return HTTPBasicAuth(consumer_key, consumer_secret)
    return OAuth1OneLegged(consumer_key, consumer_secret)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int | None
    total_pages: int | None


@dataclass(frozen=True)
class BatchItem:
    """One object of a batch answer: the updated resource, or WooCommerce's error for it alone."""

    id: int
    resource: dict[str, Any] | None
    error_code: str = ""
    error_message: str = ""

    @property
    def ok(self) -> bool:
        return self.resource is not None


@dataclass(frozen=True)
class StockPush:
    """A quantity for one listing: a simple product (`parent_id` None) or a variation of `parent_id`."""

    listing_id: int
    quantity: int
    parent_id: int | None = None


def gmt(moment: datetime) -> str:
    """A datetime as WooCommerce's GMT date parameter (with `dates_are_gmt=true`): UTC, no offset."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(WC_DATE)


# ---------------------------------------------------------------- the client


class WooCommerceClient:
    """One integration's REST client. `credentials` keys: store_url, consumer_key, consumer_secret."""

    def __init__(self, credentials: Mapping[str, Any], *, budget_key: str, http: HttpClient | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> None:
        self.store_url = str(credentials.get("store_url") or "").rstrip("/")
        if urlsplit(self.store_url).scheme not in ("http", "https") or not urlsplit(self.store_url).netloc:
            raise Rejected(f"not a store URL: {self.store_url!r}")
        consumer_key = str(credentials.get("consumer_key") or "")
        consumer_secret = str(credentials.get("consumer_secret") or "")
        if not consumer_key or not consumer_secret:
            raise AuthFailed("no consumer key and secret")
        self.http = http or HttpClient(budget_key=budget_key, budget=BUDGET, sleep=sleep, clock=clock)
        self.http.session.auth = auth_for(self.store_url, consumer_key, consumer_secret)
        self.http.session.hooks["response"] = [_raise_woo_errors]

    # ---- plumbing

    def url(self, path: str, *, namespace: str = API) -> str:
        return f"{self.store_url}/wp-json/{namespace}/{path.lstrip('/')}"

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
             operation: str, namespace: str = API) -> requests.Response:
        url = self.url(path, namespace=namespace)
        if params:
            url = requests.Request("GET", url, params=dict(params)).prepare().url or url
        return self.http.request(method, url, operation=operation, json=json,
                                 headers={"Accept": "application/json"})

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise Transient(f"WooCommerce answered {response.status_code} with something that is not JSON") from exc

    def page(self, path: str, *, params: Mapping[str, Any] | None = None, page: int = 1, operation: str) -> Page:
        response = self.call("GET", path, params={**(params or {}), "per_page": PER_PAGE, "page": page},
                             operation=operation)
        items = self._json(response)
        if not isinstance(items, list):
            raise Transient(f"WooCommerce answered GET {path} with something that is not a list")

        def header(name: str) -> int | None:
            value = response.headers.get(name)
            return int(value) if value and value.isdigit() else None

        return Page(items=items, total=header("X-WP-Total"), total_pages=header("X-WP-TotalPages"))

    def paginate(self, path: str, *, params: Mapping[str, Any] | None = None, operation: str,
                 ) -> Iterator[dict[str, Any]]:
        """Every item, page by page until X-WP-TotalPages (without the header: until a short page).
        Pages are numbered, so an item that changes while the pages are read can move past the page being
        read: callers that need every change (the order poll) keep an overlap on their checkpoint."""
        number = 1
        while True:
            current = self.page(path, params=params, page=number, operation=operation)
            yield from current.items
            last = current.total_pages if current.total_pages is not None else (
                number if len(current.items) < PER_PAGE else number + 1)
            if number >= last or not current.items:
                return
            number += 1

    # ---- orders

    def orders_modified_after(self, since: datetime, *, statuses: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """Orders changed after `since` (a moment, compared in GMT: without `dates_are_gmt` the store's own
        zone would shift the window), oldest change first."""
        params: dict[str, Any] = {"modified_after": gmt(since), "dates_are_gmt": "true", "orderby": "modified",
                                  "order": "asc"}
        if statuses:
            params["status"] = ",".join(statuses)
        return self.paginate("orders", params=params, operation="orders")

    def order(self, order_id: int) -> dict[str, Any]:
        return self._json(self.call("GET", f"orders/{int(order_id)}", operation="orders"))

    def set_order_status(self, order_id: int, status: str) -> dict[str, Any]:
        return self._json(self.call("PUT", f"orders/{int(order_id)}", json={"status": status}, operation="fulfillment"))

    def add_order_note(self, order_id: int, note: str, *, customer_note: bool = True) -> dict[str, Any]:
        """A note on the order; `customer_note` makes WooCommerce show it to the buyer and e-mail them."""
        return self._json(self.call("POST", f"orders/{int(order_id)}/notes",
                                    json={"note": note, "customer_note": customer_note}, operation="fulfillment"))

    def order_notes(self, order_id: int) -> list[dict[str, Any]]:
        """The order's notes, newest first (WooCommerce answers them all in one list, unpaged)."""
        body = self._json(self.call("GET", f"orders/{int(order_id)}/notes", operation="fulfillment"))
        return [n for n in body if isinstance(n, Mapping)] if isinstance(body, list) else []

    def write_probe(self) -> None:
        """An empty products batch: WooCommerce checks the key's write permission and the user's right to edit
        products before it looks at the (empty) body, so this changes nothing and answers whether we may write."""
        self.call("POST", "products/batch", json={"update": []}, operation="doctor")

    # ---- Shipment Tracking extension

    def namespaces(self) -> list[str]:
        """The REST namespaces the site serves (`GET /wp-json/`): which extensions are installed."""
        response = self.http.request("GET", f"{self.store_url}/wp-json/", operation="doctor",
                                     headers={"Accept": "application/json"})
        body = self._json(response)
        return [str(n) for n in body.get("namespaces", [])] if isinstance(body, Mapping) else []

    def has_shipment_tracking(self) -> bool:
        return TRACKING_API in self.namespaces()

    def add_shipment_tracking(self, order_id: int, *, provider: str, tracking_number: str, tracking_link: str = "",
                              date_shipped: str = "") -> dict[str, Any]:
        """A tracking entry through the extension (a custom provider, so any carrier name and link work)."""
        body = {"custom_tracking_provider": provider, "tracking_number": tracking_number,
                "custom_tracking_link": tracking_link}
        if date_shipped:
            body["date_shipped"] = date_shipped
        return self._json(self.call("POST", f"orders/{int(order_id)}/shipment-trackings", json=body,
                                    namespace=TRACKING_API, operation="fulfillment"))

    def shipment_trackings(self, order_id: int) -> list[dict[str, Any]]:
        body = self._json(self.call("GET", f"orders/{int(order_id)}/shipment-trackings", namespace=TRACKING_API,
                                    operation="fulfillment"))
        return [t for t in body if isinstance(t, Mapping)] if isinstance(body, list) else []

    # ---- catalogue

    def products(self) -> Iterator[dict[str, Any]]:
        """Every product (simple, variable, grouped, external; never variations: those are per parent)."""
        return self.paginate("products", operation="catalog")

    def variations(self, parent_id: int) -> Iterator[dict[str, Any]]:
        return self.paginate(f"products/{int(parent_id)}/variations", operation="catalog")

    def batch_update(self, updates: Sequence[Mapping[str, Any]], *, parent_id: int | None = None,
                     ) -> list[BatchItem]:
        """Update products (or one parent's variations) in calls of at most 100 objects; each item comes back
        alone, failed ones with WooCommerce's code and message. Each object needs its `id`."""
        path = f"products/{int(parent_id)}/variations/batch" if parent_id is not None else "products/batch"
        results: list[BatchItem] = []
        for start in range(0, len(updates), BATCH_LIMIT):
            chunk = [dict(u) for u in updates[start:start + BATCH_LIMIT]]
            answer = self._json(self.call("POST", path, json={"update": chunk}, operation="inventory"))
            items = answer.get("update") if isinstance(answer, Mapping) else None
            if not isinstance(items, list) or len(items) != len(chunk):
                raise Transient(f"WooCommerce answered POST {path} without one result per object")
            for sent, item in zip(chunk, items, strict=True):
                error = item.get("error") if isinstance(item, Mapping) else None
                if error:
                    results.append(BatchItem(id=int(sent["id"]), resource=None, error_code=str(error.get("code") or ""),
                                             error_message=str(error.get("message") or "")))
                else:
                    results.append(BatchItem(id=int(sent["id"]), resource=dict(item)))
        return results

    def push_stock(self, pushes: Sequence[StockPush]) -> list[BatchItem]:
        """Quantities in as few calls as the 100-object limit allows for WooCommerce's grouping: simple
        products together through /products/batch, each parent's variations through its own batch. Every
        object turns `manage_stock` on with its quantity: WooCommerce ignores `stock_quantity` while it is
        off. Results come back in the order of `pushes`."""
        groups: dict[int | None, list[StockPush]] = {}
        for push in pushes:
            groups.setdefault(push.parent_id, []).append(push)
        by_id: dict[tuple[int | None, int], BatchItem] = {}
        for parent_id, group in groups.items():
            updates = [{"id": p.listing_id, "manage_stock": True, "stock_quantity": int(p.quantity)} for p in group]
            for item in self.batch_update(updates, parent_id=parent_id):
                by_id[(parent_id, item.id)] = item
        return [by_id[(p.parent_id, p.listing_id)] for p in pushes]

    # ---- webhooks

    def create_webhook(self, *, topic: str, delivery_url: str, secret: str, name: str = "") -> dict[str, Any]:
        """POST /webhooks; WooCommerce pings `delivery_url` before this returns, so the receiver must already
        answer the ping (form body `webhook_id=N`, unsigned) with 200."""
        return self._json(self.call("POST", "webhooks", operation="webhooks", json={
            "name": name or f"Switchboard {topic}", "topic": topic, "delivery_url": delivery_url, "secret": secret,
            "status": "active"}))

    def webhooks(self) -> list[dict[str, Any]]:
        return list(self.paginate("webhooks", operation="webhooks"))

    def set_webhook_status(self, webhook_id: int, status: str) -> dict[str, Any]:
        return self._json(self.call("PUT", f"webhooks/{int(webhook_id)}", json={"status": status},
                                    operation="webhooks"))

    def delete_webhook(self, webhook_id: int) -> None:
        self.call("DELETE", f"webhooks/{int(webhook_id)}", params={"force": "true"}, operation="webhooks")
