"""Amazon's Selling Partner API and Login with Amazon over HTTP (channels-and-carriers.md §3). HTTP only: no
ORM, no Django models.

A thin client on core.http's `HttpClient`, not python-amazon-sp-api: that SDK caches an access token for a
fixed 3,200 s whatever `expires_in` says, per process and without a lock (every worker refreshes on its
own, a token revoked early stays in use), has no per-operation bucket and no host setting (§3.9). Here:

- URLs: `settings.AMAZON_SPAPI_ENDPOINT` replaces the regional endpoint (`na`, `eu`, `fe`) when set (tests,
  sandbox, a proxy); `settings.AMAZON_LWA_TOKEN_URL` is LWA's token endpoint.
- Budgets: one `Budget` per operation with Amazon's default rate and burst (§3.5, the models' usage-plan
  tables), multiplied by `AMAZON_SPAPI_RATE_SCALE` (a seller granted more; a test against a time-scaled
  fake). The budget key is the seller id, so the marketplaces of one seller, and every integration or
  worker that speaks for it, draw on one plan as Amazon counts it.
- A 429 `QuotaExceeded` is `Throttled` with a floor of one token's refill (1/rate s), so core.http backs off
  instead of retrying at once; `x-amzn-RateLimit-Limit` is remembered per operation when Amazon sends it
  (the doctor shows it) and never relied on (Amazon does not promise it).
- LWA access tokens: `TokenCache` keeps one per refresh token (one integration) in Redis until shortly
  before its `expires_in` (in this process without Redis); one worker refreshes under a short Redis lock
  while the others wait for its token; a 403 `Unauthorized` drops the token and the call is sent once more
  with a fresh one. `invalid_grant` is `LwaGrantRefused` (the seller withdrew the authorisation: reconnect),
  `invalid_client` is `LwaClientRefused` (the app's client id or secret is wrong).
- Errors keep Amazon's `code` and `message` (`AmazonError.code`); the message never quotes a request.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import redis
import requests
from django.conf import settings

from core.http import AuthFailed, Budget, ExternalError, HttpClient, Rejected, Throttled, Transient

logger = logging.getLogger("integrations.amazon")

REGIONS = {"na": "https://sellingpartnerapi-na.amazon.com", "eu": "https://sellingpartnerapi-eu.amazon.com",
           "fe": "https://sellingpartnerapi-fe.amazon.com"}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
ORDERS = "/orders/2026-01-01/orders"
# Amazon's default usage plans (§3.5): operation -> (requests per second, burst).
USAGE_PLANS: dict[str, tuple[float, float]] = {
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
    # Not Amazon's: LWA has no published plan; this keeps a crowd of workers from hammering it.
    "lwa": (1.0, 5),
    # The presigned upload and the report download go to S3, outside SP-API's plans.
    "feedUpload": (10.0, 20),
}
# Refresh an access token this long before it lapses (at most; a short-lived token keeps a tenth of its life).
REFRESH_MARGIN_SECONDS = 60.0
# How long one worker may hold the refresh lock; the others wait for its token that long at most.
REFRESH_LOCK_SECONDS = 10.0
INTERACTIVE_TIMEOUT = (3.05, 10.0)


# ---------------------------------------------------------------- errors with Amazon's words


class AmazonError(ExternalError):
    """Mixin: Amazon's error `code` as it sent it (SP-API `errors[0].code`, or LWA's `error`)."""

    code: str = ""


class AmazonAuthFailed(AmazonError, AuthFailed):
    pass


class LwaGrantRefused(AmazonAuthFailed):
    """LWA `invalid_grant`: the refresh token is revoked or wrong; the seller must authorise again."""


class LwaClientRefused(AmazonAuthFailed):
    """LWA `invalid_client`: the app's client id or secret is wrong (rotated, mistyped)."""


class AmazonRejected(AmazonError, Rejected):
    pass


class AmazonTransient(AmazonError, Transient):
    pass


class AmazonThrottled(AmazonError, Throttled):
    pass


class RestrictedDataRefused(AmazonRejected):
    """The Tokens API refused a restricted data element: the app lacks the restricted role (Amazon's
    400 InvalidInput "Application does not have access to one or more requested data elements")."""


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_for(response: requests.Response, what: str, refill_seconds: float | None) -> AmazonError | None:
    """The error-family member for a failed answer, keeping Amazon's code; None on success."""
    status = response.status_code
    if status < 400:
        return None
    body = _body(response)
    code = message = ""
    if isinstance(body, Mapping) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0] if isinstance(body["errors"][0], Mapping) else {}
        code, message = str(first.get("code") or ""), str(first.get("message") or "")
    elif isinstance(body, Mapping) and isinstance(body.get("error"), str):  # LWA's shape
        code, message = body["error"], str(body.get("error_description") or "")
    words = f"{what}: {status}" + (f" {code}: {message}" if code else "")
    error: AmazonError
    if code == "invalid_grant":
        error = LwaGrantRefused(f"{what}: Amazon refused the refresh token (invalid_grant)", status=status)
    elif code == "invalid_client":
        error = LwaClientRefused(f"{what}: Amazon refused the app's LWA client id or secret (invalid_client)",
                                 status=status)
    elif status == 429:
        error = AmazonThrottled(words, status=status, retry_after=refill_seconds)
    elif status in (401, 403):
        error = AmazonAuthFailed(words, status=status)
    elif status >= 500:
        error = AmazonTransient(words, status=status)
    else:
        error = AmazonRejected(words, status=status)
    error.code = code
    return error


# ---------------------------------------------------------------- access tokens


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float


class TokenCache:
    """LWA access tokens per refresh token: in Redis when settings.REDIS_URL is set (every worker shares
    one token and one refresh), in this process otherwise. The key is a hash of the app's client id and
    the refresh token, so a reconnected integration never meets its old token and no secret is a key."""

    _local: dict[str, AccessToken] = {}
    _local_lock = threading.Lock()

    def __init__(self, url: str | None = None) -> None:
        url = url if url is not None else getattr(settings, "REDIS_URL", "")
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) if url else None

    @staticmethod
    def key(client_id: str, refresh_token: str) -> str:
        return "sb:amazon:lwa:" + hashlib.sha256(f"{client_id}\x00{refresh_token}".encode()).hexdigest()

    def get(self, key: str, now: float) -> AccessToken | None:
        if self._redis is None:
            with self._local_lock:
                token = self._local.get(key)
        else:
            raw = self._redis.get(key)
            token = AccessToken(**json.loads(raw)) if raw else None
        return token if token is not None and token.expires_at > now else None

    def put(self, key: str, token: AccessToken, now: float) -> None:
        if self._redis is None:
            with self._local_lock:
                self._local[key] = token
            return
        ttl_ms = max(1, int((token.expires_at - now) * 1000))
        self._redis.set(key, json.dumps({"value": token.value, "expires_at": token.expires_at}), px=ttl_ms)

    def drop(self, key: str, value: str) -> None:
        """Forget `value` (refused by Amazon), unless another worker has already put a newer token there."""
        if self._redis is None:
            with self._local_lock:
                if key in self._local and self._local[key].value == value:
                    del self._local[key]
            return
        raw = self._redis.get(key)
        if raw and json.loads(raw).get("value") == value:
            self._redis.delete(key)

    def lock(self, key: str) -> _RefreshLock:
        return _RefreshLock(self._redis, key + ":lock")


class _RefreshLock:
    """A short Redis lock (SET NX PX) so one worker refreshes while the others wait; in-process without
    Redis (a threading lock per key)."""

    _thread_locks: dict[str, threading.Lock] = {}
    _guard = threading.Lock()

    def __init__(self, client: redis.Redis | None, key: str) -> None:
        self._redis, self._key = client, key
        self._token = hashlib.sha256(f"{time.time_ns()}{threading.get_ident()}".encode()).hexdigest()
        with self._guard:
            self._thread_lock = self._thread_locks.setdefault(key, threading.Lock())

    def acquire(self) -> bool:
        if self._redis is None:
            return self._thread_lock.acquire(timeout=REFRESH_LOCK_SECONDS)
        return bool(self._redis.set(self._key, self._token, nx=True, px=int(REFRESH_LOCK_SECONDS * 1000)))

    def release(self) -> None:
        if self._redis is None:
            self._thread_lock.release()
            return
        if self._redis.get(self._key) == self._token.encode():
            self._redis.delete(self._key)


def refresh_margin(expires_in: float) -> float:
    return min(REFRESH_MARGIN_SECONDS, expires_in / 10.0)


# ---------------------------------------------------------------- the client


def endpoint(region: str) -> str:
    configured = (getattr(settings, "AMAZON_SPAPI_ENDPOINT", "") or "").rstrip("/")
    if configured:
        return configured
    if region not in REGIONS:
        raise Rejected(f"unknown Amazon region {region!r}")
    return REGIONS[region]


def lwa_url() -> str:
    return getattr(settings, "AMAZON_LWA_TOKEN_URL", "") or LWA_TOKEN_URL


def budgets() -> dict[str, Budget]:
    scale = float(getattr(settings, "AMAZON_SPAPI_RATE_SCALE", 1.0) or 1.0)
    return {op: Budget(rate=rate * scale, burst=burst) for op, (rate, burst) in USAGE_PLANS.items()}


class AmazonClient:
    """One seller's SP-API client. `refresh_token`, `client_id`, `client_secret` are the LWA credentials
    (the merchant's private app's, or ours with the seller's refresh token from the website workflow)."""

    def __init__(self, *, seller_id: str, region: str, refresh_token: str, client_id: str, client_secret: str,
                 interactive: bool = False, cache: TokenCache | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time) -> None:
        self.seller_id = seller_id
        self.base = endpoint(region)
        self.refresh_token, self.client_id, self.client_secret = refresh_token, client_id, client_secret
        self.cache = cache or TokenCache()
        self.cache_key = TokenCache.key(client_id, refresh_token)
        self.clock, self.sleep = clock, sleep
        self.budgets = budgets()
        self.rate_limits: dict[str, float] = {}  # x-amzn-RateLimit-Limit per operation, when Amazon said
        self.lwa_exchanges = 0
        session_hooks = {"response": [self._raise_amazon_errors]}
        self.http = HttpClient(budget_key=f"amazon:{seller_id}", budget=Budget(rate=1.0, burst=5.0),
                               budgets=self.budgets, sleep=sleep, clock=clock,
                               timeout=INTERACTIVE_TIMEOUT if interactive else None,
                               max_attempts=1 if interactive else None)
        self.http.session.hooks = session_hooks
        self._operation = threading.local()

    # -------------------------------------------------------------- errors

    def _raise_amazon_errors(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A session response hook: inside core.http's send, so its retries still apply to what we raise."""
        operation = getattr(self._operation, "name", "")
        limit = response.headers.get("x-amzn-RateLimit-Limit")
        if limit and operation:
            try:
                self.rate_limits[operation] = float(limit)
            except ValueError:
                pass
        budget = self.budgets.get(operation)
        refill = 1.0 / budget.rate if budget else None
        what = f"{response.request.method} {urlsplit(response.request.url or '').path}"
        error = error_for(response, what, refill)
        if error is not None:
            logger.info("integrations.amazon.refused operation=%s status=%s code=%s", operation,
                        response.status_code, error.code)
            raise error

    # -------------------------------------------------------------- tokens

    def access_token(self) -> str:
        """A live access token: the shared one, or a new one fetched by exactly one worker at a time."""
        deadline = self.clock() + REFRESH_LOCK_SECONDS * 3
        while True:
            token = self.cache.get(self.cache_key, self.clock())
            if token is not None:
                return token.value
            lock = self.cache.lock(self.cache_key)
            if lock.acquire():
                try:
                    token = self.cache.get(self.cache_key, self.clock())  # another worker may have just put one
                    if token is None:
                        token = self._exchange()
                    return token.value
                finally:
                    lock.release()
            if self.clock() > deadline:
                raise AmazonTransient("another worker held the token refresh too long")
            self.sleep(0.05)

    def _exchange(self) -> AccessToken:
        """LWA's refresh grant (form-encoded), cached until shortly before its expires_in."""
        self._operation.name = "lwa"
        response = self.http.request("POST", lwa_url(), operation="lwa", data={
            "grant_type": "refresh_token", "refresh_token": self.refresh_token, "client_id": self.client_id,
            "client_secret": self.client_secret})
        self.lwa_exchanges += 1
        body = _body(response)
        if not isinstance(body, Mapping) or not body.get("access_token"):
            raise AmazonTransient("LWA's token answer was not the expected JSON")
        now = self.clock()
        expires_in = float(body.get("expires_in") or 3600)
        token = AccessToken(value=str(body["access_token"]), expires_at=now + expires_in - refresh_margin(expires_in))
        self.cache.put(self.cache_key, token, now)
        return token

    # -------------------------------------------------------------- calls

    def call(self, method: str, path: str, *, operation: str, params: Mapping[str, Any] | None = None,
             json_body: Any = None) -> requests.Response:
        """One SP-API operation. Array parameters go comma-separated (the models' `csv`). A 403 drops the
        access token and the call goes once more with a fresh one; a second 403 is the answer."""
        url = self.base + path
        if params:
            url += "?" + urlencode({k: ",".join(v) if isinstance(v, list | tuple) else v
                                    for k, v in params.items() if v is not None})
        for attempt in (1, 2):
            token = self.access_token()
            self._operation.name = operation
            try:
                return self.http.request(method, url, operation=operation, json=json_body, headers={
                    "x-amz-access-token": token, "Content-Type": "application/json",
                    "User-Agent": "Switchboard/1.0 (Language=Python)"})
            except AmazonAuthFailed as refused:
                if refused.status != 403 or attempt == 2:
                    raise
                self.cache.drop(self.cache_key, token)
        raise AssertionError("unreachable")  # noqa: S101 - the loop returns or raises

    def get_json(self, path: str, *, operation: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = _body(self.call("GET", path, operation=operation, params=params))
        if not isinstance(body, dict):
            raise AmazonTransient(f"{operation}: the answer was not JSON")
        return body

    def send_json(self, method: str, path: str, *, operation: str, body: Any,
                  params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        response = self.call(method, path, operation=operation, params=params, json_body=body)
        return _body(response) if response.content else None

    # -------------------------------------------------------------- operations

    def search_orders(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return self.get_json(ORDERS, operation="searchOrders", params=params)

    def get_order(self, order_id: str, included: list[str]) -> dict[str, Any] | None:
        try:
            body = self.get_json(f"{ORDERS}/{quote(order_id, safe='')}", operation="getOrder",
                                 params={"includedData": included})
        except AmazonRejected as refused:
            if refused.status == 404:
                return None
            raise
        return body.get("order")

    def confirm_shipment(self, order_id: str, body: dict[str, Any]) -> None:
        self.send_json("POST", f"/orders/v0/orders/{quote(order_id, safe='')}/shipmentConfirmation",
                       operation="confirmShipment", body=body)

    def search_listings(self, marketplace_id: str, page_token: str | None, page_size: int = 20,
                        skus: list[str] | None = None) -> dict[str, Any]:
        """One marketplace's listings, a page at a time; or those of `skus` (at most 20) in it."""
        params: dict[str, Any] = {"marketplaceIds": [marketplace_id], "pageSize": page_size,
                                  "includedData": ["summaries", "fulfillmentAvailability", "issues"],
                                  "pageToken": page_token}
        if skus:
            params.update(identifiersType="SKU", identifiers=list(skus))
        return self.get_json(f"/listings/2021-08-01/items/{quote(self.seller_id, safe='')}",
                             operation="searchListingsItems", params=params)

    def participating_marketplace_ids(self) -> list[str]:
        """getMarketplaceParticipations: the ids of the marketplaces the seller's account sells in."""
        body = self.get_json("/sellers/v1/marketplaceParticipations", operation="getMarketplaceParticipations")
        return [str((p.get("marketplace") or {}).get("id") or "") for p in body.get("payload") or []
                if isinstance(p, Mapping) and (p.get("participation") or {}).get("isParticipating")]

    def restricted_data_token(self, resources: list[dict[str, Any]]) -> str:
        """A Restricted Data Token for `resources` (the Tokens API), shared like the access token: cached in
        Redis until shortly before its `expiresIn`, fetched by one worker under the refresh lock. Raises
        RestrictedDataRefused when the app lacks the role for a data element asked."""
        key = f"{self.cache_key}:rdt:" + hashlib.sha256(json.dumps(resources, sort_keys=True).encode()).hexdigest()
        token = self.cache.get(key, self.clock())
        if token is not None:
            return token.value
        lock = self.cache.lock(key)
        held = lock.acquire()
        try:
            token = self.cache.get(key, self.clock())
            if token is not None:
                return token.value
            try:
                body = self.send_json("POST", "/tokens/2021-03-01/restrictedDataToken",
                                      operation="createRestrictedDataToken",
                                      body={"restrictedResources": resources}) or {}
            except AmazonRejected as refused:
                if refused.status == 400 and refused.code == "InvalidInput" and "access" in refused.message:
                    raise RestrictedDataRefused(refused.message, status=400) from refused
                raise
            except AmazonAuthFailed as refused:
                # 403 again with a fresh access token (call() retried once): the app is not authorised for
                # the resource, which Amazon also answers this way; not the seller's credentials.
                if refused.status == 403 and not isinstance(refused, LwaGrantRefused | LwaClientRefused):
                    raise RestrictedDataRefused(refused.message, status=403) from refused
                raise
            if not body.get("restrictedDataToken"):
                raise AmazonTransient("the Tokens API's answer had no restrictedDataToken")
            now = self.clock()
            expires_in = float(body.get("expiresIn") or 3600)
            token = AccessToken(value=str(body["restrictedDataToken"]),
                                expires_at=now + expires_in - refresh_margin(expires_in))
            self.cache.put(key, token, now)
            return token.value
        finally:
            if held:
                lock.release()

    def patch_listing(self, sku: str, marketplace_id: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.send_json("PATCH", f"/listings/2021-08-01/items/{quote(self.seller_id, safe='')}/"
                                         f"{quote(sku, safe='')}", operation="patchListingsItem", body=body,
                                params={"marketplaceIds": [marketplace_id], "includedData": ["issues"]})
        return answer or {}

    def feed_submit(self, document: dict[str, Any], marketplace_ids: list[str]) -> str:
        """createFeedDocument → PUT the document to its URL with the same Content-Type → createFeed; the
        feed id."""
        content_type = "application/json; charset=UTF-8"
        created = self.send_json("POST", "/feeds/2021-06-30/documents", operation="createFeedDocument",
                                 body={"contentType": content_type}) or {}
        try:
            self.http.request("PUT", created["url"], operation="feedUpload", data=json.dumps(document).encode(),
                              headers={"Content-Type": content_type})
        except AuthFailed as refused:  # the presigned URL refused the upload: not the seller's credentials
            raise AmazonRejected(f"the feed document upload was refused ({refused.status})",
                                 status=refused.status) from refused
        feed = self.send_json("POST", "/feeds/2021-06-30/feeds", operation="createFeed", body={
            "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": marketplace_ids,
            "inputFeedDocumentId": created["feedDocumentId"]}) or {}
        return str(feed["feedId"])

    def feed_status(self, feed_id: str) -> dict[str, Any]:
        return self.get_json(f"/feeds/2021-06-30/feeds/{quote(feed_id, safe='')}", operation="getFeed")

    def feed_report(self, document_id: str) -> dict[str, Any]:
        """The processing report of a finished feed (downloaded from the document's URL; GZIP when said)."""
        document = self.get_json(f"/feeds/2021-06-30/documents/{quote(document_id, safe='')}",
                                 operation="getFeedDocument")
        response = self.http.request("GET", document["url"], operation="feedUpload")
        raw = response.content
        if document.get("compressionAlgorithm") == "GZIP":
            raw = gzip.decompress(raw)
        try:
            report = json.loads(raw)
        except ValueError as exc:
            raise AmazonTransient("the feed's processing report was not JSON") from exc
        return report if isinstance(report, dict) else {}


def exchange_authorization_code(code: str, *, client_id: str, client_secret: str, budget_key: str,
                                ) -> dict[str, Any]:
    """The website authorisation workflow's last step: `spapi_oauth_code` for the seller's refresh token."""
    http = HttpClient(budget_key=budget_key, budget=Budget(rate=1.0, burst=5.0), max_attempts=2)
    http.session.hooks = {"response": [lambda r, *a, **k: _raise(error_for(r, "POST LWA token", None))]}
    response = http.request("POST", lwa_url(), operation="lwa", data={
        "grant_type": "authorization_code", "code": code, "client_id": client_id, "client_secret": client_secret})
    body = _body(response)
    if not isinstance(body, Mapping) or not body.get("refresh_token"):
        raise AmazonTransient("LWA's answer to the authorization code had no refresh token")
    return dict(body)


def _raise(error: AmazonError | None) -> None:
    if error is not None:
        raise error
