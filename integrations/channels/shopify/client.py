"""Shopify Admin GraphQL over HTTP, and the OAuth install flow. HTTP only: no ORM, no Django models.

- One API version, `API_VERSION`; every URL comes from `settings.SHOPIFY_API_BASE_URL`, a template with
  `{shop}` defaulting to `https://{shop}` (tests and proxies set `http://127.0.0.1:PORT/{shop}`).
- Cost-based throttling (channels-and-carriers §1.4): every response's `extensions.cost.throttleStatus`
  is remembered, and before the next call the client waits until the bucket holds that query's
  requested cost (as last charged for the same query text); a `THROTTLED` error in a 200 is waited out
  by Shopify's formula and sent again; HTTP 429 and 5xx are retried by core.http.
- GraphQL `errors` raise `Rejected` (`Transient` for INTERNAL_SERVER_ERROR); `userErrors` are data and
  go back to the adapter.
- Expiring offline tokens are refreshed before they lapse, once per client however many calls are
  waiting (a lock), and the rotated refresh token is handed to `on_credentials_changed` every time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from core.http import AuthFailed, Budget, HttpClient, Rejected, Throttled, Transient

logger = logging.getLogger("integrations.shopify")

API_VERSION = "2026-10"
MAX_QUERY_COST = 1000  # Shopify's single-query maximum (§1.4)
SHOP_DOMAIN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$")
# Refresh an expiring access token this long before it lapses, so a call never starts with a dead one.
REFRESH_MARGIN_SECONDS = 300.0
# Calls per second one integration may start per operation; Shopify's own limit is the cost bucket,
# this only keeps a crowd of workers from stampeding it. Token grants and refreshes are rare: a handful.
BUDGET = Budget(rate=20.0, burst=40.0)
BUDGETS = {"oauth": Budget(rate=1.0, burst=5.0)}
MAX_THROTTLED_RETRIES = 20
# A merchant waiting on a page ("Test connection"): one attempt, a short read time-out, no waiting out
# a throttle; the background budget above is for work nobody watches.
INTERACTIVE_TIMEOUT = (3.05, 10.0)
OAUTH_MAX_AGE_SECONDS = 24 * 3600.0


class OAuthRefused(Rejected):
    """An install or callback query we must not trust (bad HMAC, foreign shop, wrong state, too old)."""


def base_url(shop: str) -> str:
    if not valid_shop_domain(shop):
        raise Rejected(f"not a myshopify.com shop domain: {shop!r}")
    template = getattr(settings, "SHOPIFY_API_BASE_URL", "") or "https://{shop}"
    return template.format(shop=shop).rstrip("/")


def valid_shop_domain(shop: Any) -> bool:
    return isinstance(shop, str) and bool(SHOP_DOMAIN.fullmatch(shop))


def graphql_url(shop: str) -> str:
    return f"{base_url(shop)}/admin/api/{API_VERSION}/graphql.json"


# ---------------------------------------------------------------- OAuth (§1.2.3)


def new_state() -> str:
    """The nonce the caller stores (session) before redirecting and compares on the callback."""
    return secrets.token_urlsafe(24)


def authorize_url(*, shop: str, client_id: str, scopes: list[str] | tuple[str, ...], redirect_uri: str,
                  state: str) -> str:
    """Where to send the merchant to install the app: an offline token (no `grant_options[]=per-user`)."""
    query = urlencode({"client_id": client_id, "scope": ",".join(scopes), "redirect_uri": redirect_uri,
                       "state": state})
    return f"{base_url(shop)}/admin/oauth/authorize?{query}"


def query_hmac(params: Mapping[str, str], secret: str) -> str:
    """Shopify's query HMAC: drop `hmac` and `signature`, sort, join `k=v` with `&`, HMAC-SHA256, lowercase hex."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def verify_callback(params: Mapping[str, str], *, client_secret: str, expected_state: str | None,
                    now: float | None = None, max_age: float = OAUTH_MAX_AGE_SECONDS) -> str:
    """The shop domain of a genuine install/callback query; raises OAuthRefused otherwise. The HMAC and
    the state are compared in constant time; `expected_state=None` is the install request (no state yet)."""
    received = str(params.get("hmac") or "")
    expected = query_hmac(params, client_secret)
    if not received or not hmac.compare_digest(expected, received.lower()):
        raise OAuthRefused("the callback's HMAC does not match")
    shop = params.get("shop")
    if not valid_shop_domain(shop):
        raise OAuthRefused("the callback names no valid myshopify.com shop")
    if expected_state is not None and not hmac.compare_digest(str(params.get("state") or ""), expected_state):
        raise OAuthRefused("the callback's state is not the one we issued")
    try:
        stamp = float(params.get("timestamp") or "")
    except ValueError:
        raise OAuthRefused("the callback has no timestamp") from None
    if abs((time.time() if now is None else now) - stamp) > max_age:
        raise OAuthRefused("the callback is too old")
    return str(shop)


def _token_credentials(shop: str, body: Mapping[str, Any], *, now: float) -> dict:
    """The stored form of a grant (integrations/channels/shopify/credentials.py OAUTH_FIELDS); times are
    epoch seconds. Our app's client id and secret stay in settings, not in every integration's blob."""
    credentials: dict[str, Any] = {"shop_domain": shop, "access_token": body["access_token"],
                                   "scopes": [s for s in str(body.get("scope") or "").split(",") if s]}
    if body.get("expires_in") is not None:
        credentials["access_token_expires_at"] = now + float(body["expires_in"])
    if body.get("refresh_token"):
        credentials["refresh_token"] = body["refresh_token"]
        if body.get("refresh_token_expires_in") is not None:
            credentials["refresh_token_expires_at"] = now + float(body["refresh_token_expires_in"])
    return credentials


def _token_request(http: HttpClient, shop: str, payload: dict) -> Mapping[str, Any]:
    """POST /admin/oauth/access_token; Shopify answers a refused grant with 400 and an OAuth error."""
    try:
        response = http.request("POST", f"{base_url(shop)}/admin/oauth/access_token", operation="oauth",
                                json=payload, headers={"Accept": "application/json"})
    except Rejected as refused:
        raise AuthFailed(f"Shopify refused the token request ({refused.status})", status=refused.status) from refused
    try:
        body = response.json()
        body["access_token"]  # noqa: B018 - the one field every grant returns
    except (ValueError, KeyError, TypeError) as exc:
        raise Transient("Shopify's token response was not the expected JSON") from exc
    return body


def exchange_code(*, shop: str, code: str, client_id: str, client_secret: str, budget_key: str,
                  http: HttpClient | None = None, clock: Callable[[], float] = time.time) -> dict:
    """The callback's code → an expiring offline token (`expiring=1`) as a credentials dict to store."""
    http = http or HttpClient(budget_key=budget_key, budget=BUDGET, budgets=BUDGETS, clock=clock)
    body = _token_request(http, shop, {"client_id": client_id, "client_secret": client_secret, "code": code,
                                       "expiring": "1"})
    return _token_credentials(shop, body, now=clock())


# ---------------------------------------------------------------- GraphQL client


class ShopifyClient:
    """One integration's GraphQL client. `credentials` keys: shop_domain, access_token, and for expiring
    tokens refresh_token and access_token_expires_at (epoch seconds); a refresh authenticates as our app
    (settings.SHOPIFY_CLIENT_ID / SHOPIFY_CLIENT_SECRET)."""

    def __init__(self, credentials: Mapping[str, Any], *, budget_key: str,
                 on_credentials_changed: Callable[[dict], None] | None = None, http: HttpClient | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 interactive: bool = False) -> None:
        self.credentials = dict(credentials)
        self.shop = str(self.credentials.get("shop_domain") or "")
        if not valid_shop_domain(self.shop):
            raise Rejected(f"not a myshopify.com shop domain: {self.shop!r}")
        if not self.credentials.get("access_token"):
            raise AuthFailed("no access token")
        self.budget_key = budget_key
        self.on_credentials_changed = on_credentials_changed or (lambda credentials: None)
        self.sleep = sleep
        self.clock = clock
        self.interactive = interactive
        self.http = http or HttpClient(budget_key=budget_key, budget=BUDGET, budgets=BUDGETS, sleep=sleep, clock=clock,
                                       **({"max_attempts": 1, "timeout": INTERACTIVE_TIMEOUT} if interactive else {}))
        self._refresh_lock = threading.Lock()
        self._throttle: dict[str, float] | None = None  # last throttleStatus and when it was read
        self._requested: dict[str, int] = {}  # query text -> requested cost last charged

    # ---- tokens

    def _expires_soon(self) -> bool:
        expires_at = self.credentials.get("access_token_expires_at")
        return expires_at is not None and self.clock() >= float(expires_at) - REFRESH_MARGIN_SECONDS

    def _ensure_token(self) -> None:
        if self._expires_soon() and self.credentials.get("refresh_token"):
            self.refresh()

    def refresh(self, *, stale_token: str | None = None) -> None:
        """Exchange the refresh token for a new pair, once: callers that queued on the lock find the
        token already fresh (or already replaced after `stale_token` was refused) and do nothing."""
        with self._refresh_lock:
            if stale_token is not None:
                if self.credentials.get("access_token") != stale_token:
                    return
            elif not self._expires_soon():
                return
            refresh_token = self.credentials.get("refresh_token")
            if not refresh_token:
                raise AuthFailed("the access token expired and there is no refresh token")
            client_id = getattr(settings, "SHOPIFY_CLIENT_ID", "")
            client_secret = getattr(settings, "SHOPIFY_CLIENT_SECRET", "")
            body = _token_request(self.http, self.shop, {
                "client_id": client_id, "client_secret": client_secret, "grant_type": "refresh_token",
                "refresh_token": refresh_token})
            fresh = _token_credentials(self.shop, body, now=self.clock())
            self.credentials.update(fresh)
            logger.info("integrations.shopify.token_refreshed", extra={"shop": self.shop})
            self.on_credentials_changed(dict(self.credentials))

    # ---- cost throttling

    def _note_cost(self, body: Mapping[str, Any], key: str) -> dict | None:
        cost = (body.get("extensions") or {}).get("cost") if isinstance(body, Mapping) else None
        if not cost:
            return None
        if cost.get("requestedQueryCost") is not None:
            self._requested[key] = int(cost["requestedQueryCost"])
        status = cost.get("throttleStatus") or {}
        if status.get("restoreRate"):
            self._throttle = {"available": float(status["currentlyAvailable"]),
                              "maximum": float(status["maximumAvailable"]),
                              "rate": float(status["restoreRate"]), "stamp": self.clock()}
        return cost

    def _wait_for_cost(self, key: str) -> None:
        """Sleep until the bucket, as Shopify last reported it plus its refill since, holds this query's cost."""
        needed = self._requested.get(key)
        throttle = self._throttle
        if needed is None or throttle is None:
            return
        needed = min(needed, throttle["maximum"])
        available = min(throttle["maximum"],
                        throttle["available"] + (self.clock() - throttle["stamp"]) * throttle["rate"])
        if available < needed:
            # a hair more than the arithmetic, so float rounding on either side never lands one point short
            self.sleep((needed - available) / throttle["rate"] + 0.01)

    # ---- calls

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None, *,
                operation: str = "graphql") -> dict:
        """The response body (`data`, `extensions`) of one query or mutation."""
        throttled = 0
        refreshed_after_401 = False
        while True:
            self._ensure_token()
            self._wait_for_cost(query)
            token = str(self.credentials["access_token"])
            try:
                response = self.http.request(
                    "POST", graphql_url(self.shop), operation=operation,
                    json={"query": query, "variables": dict(variables or {})},
                    headers={"X-Shopify-Access-Token": token, "Content-Type": "application/json",
                             "Accept": "application/json"})
            except AuthFailed:
                # A token that lapsed early (clock skew) gets one refresh; anything else is the merchant's to fix.
                if refreshed_after_401 or not self.credentials.get("refresh_token"):
                    raise
                refreshed_after_401 = True
                self.refresh(stale_token=token)  # nothing to do when another caller already replaced it
                continue
            try:
                body = response.json()
            except ValueError as exc:
                raise Transient("Shopify answered with something that is not JSON") from exc
            if not isinstance(body, dict):
                raise Transient("Shopify answered with an unexpected JSON shape")
            cost = self._note_cost(body, query) or {}
            errors = body.get("errors")
            if not errors:
                return body
            codes = [(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)]
            if "THROTTLED" in codes:
                throttled += 1
                if throttled > (0 if self.interactive else MAX_THROTTLED_RETRIES):
                    raise Throttled("Shopify kept throttling the query", retry_after=self._throttled_wait(cost))
                self.sleep(self._throttled_wait(cost))
                continue
            message = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict)) or str(errors)
            if "INTERNAL_SERVER_ERROR" in codes:
                raise Transient(f"Shopify: {message}")
            raise Rejected(f"Shopify refused the query: {message}")

    @staticmethod
    def _throttled_wait(cost: Mapping[str, Any]) -> float:
        """§1.4: (requestedQueryCost - currentlyAvailable) / restoreRate, and never nothing."""
        status = cost.get("throttleStatus") or {}
        rate = float(status.get("restoreRate") or 50.0)
        requested = float(cost.get("requestedQueryCost") or 0.0)
        available = float(status.get("currentlyAvailable") or 0.0)
        return max(0.05, (requested - available) / rate)
