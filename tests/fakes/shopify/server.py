"""The fake Shopify: a threaded HTTP server on 127.0.0.1 with an ephemeral port.

Routes (§1.1–§1.4; `{shop}` is the full `name.myshopify.com` domain):
- `POST /{shop}/admin/api/{version}/graphql.json`, the Admin GraphQL endpoint;
- `GET  /{shop}/admin/oauth/authorize`, the install redirect (auto-approved, as if the merchant clicked Install);
- `POST /{shop}/admin/oauth/access_token`, code exchange, refresh-token grant (with rotation) and client credentials.
- `GET  /_fake/status`, not Shopify's: what the fake holds (shops, orders, their fulfilments and tracking) as JSON,
  so a person trying the demo store (`make demo-store`) can see what Switchboard pushed.
The same paths without the `/{shop}` prefix are served too: the shop then comes from the Host header when it is
a myshopify.com domain, or is the only shop the fake has. So a client's `SHOPIFY_API_BASE_URL` can be
`http://127.0.0.1:PORT/{shop}` (`fake.base_url_template`, the recommended form) or `http://127.0.0.1:PORT`.

Versions: the fake has Shopify's schema for 2026-10 only and treats it as the oldest supported version.
An older `YYYY-MM` version falls forward to it, as Shopify does for unsupported versions (the
`X-Shopify-API-Version` response header says which version answered); a newer one, `unstable` or a malformed
segment answers 404, because the fake cannot honestly serve a schema it does not have.

Time: `clock` is real wall time by default (a client that sleeps on `Retry-After` or on the bucket really
waits); pass `ManualClock()` and move it with `advance()` to make refills and token expiry exact and instant.

Not verified against Shopify (chosen to be plausible, never relied on by name in a client): the exact text of
the 401, 429 and OAuth error bodies, the refresh token lifetime (90 days here), and the wording of the errors
for a missing `@idempotent` directive or `changeFromQuantity` key (their refusal is documented, the text is not).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from .bulk import serve_file as bulk_serve_file
from .cost import MAX_INPUT_ARRAY, MAX_QUERY_COST, CostCalculator, InputTooLarge
from .graph import Context, build_root, field_resolver
from .schema import API_VERSION, admin_schema
from .state import App, AuthCode, ManualClock, RealClock, RefreshToken, ShopState, Token, random_token

SHOP_DOMAIN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$")
VERSION_SEGMENT = re.compile(r"^\d{4}-(01|04|07|10)$")
INVALID_TOKEN_BODY = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
RATE_LIMIT_DOC = "https://shopify.dev/api/usage/rate-limits"
ACCESS_TOKEN_LIFETIME = 3600
REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600
CLIENT_CREDENTIALS_LIFETIME = 86399


@dataclass
class RequestRecord:
    """One request as the fake saw it; the benchmark and the sync tests count and inspect these."""

    at: float
    method: str
    path: str
    shop: str | None
    status: int
    kind: str  # "graphql", "oauth_authorize", "oauth_token", "other"
    version: str | None = None
    operation_type: str | None = None  # "query" or "mutation"
    operation_name: str | None = None
    root_fields: list[str] = field(default_factory=list)
    variables: dict | None = None
    requested_cost: int | None = None
    actual_cost: int | None = None
    error_codes: list[str] = field(default_factory=list)
    user_error_codes: list[str | None] = field(default_factory=list)
    injected: bool = False
    idempotent_replays: int = 0
    grant_type: str | None = None


@dataclass
class _Injected:
    status: int
    retry_after: float | None
    delay: float
    target: str


class ShopifyFake:
    def __init__(self, *, clock: RealClock | ManualClock | None = None) -> None:
        self.clock = clock or RealClock()
        self.lock = threading.RLock()
        self.shops: dict[str, ShopState] = {}
        self.apps: dict[str, App] = {}
        self.app_scopes: dict[str, list[str]] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.log: list[RequestRecord] = []
        self._injected: deque[_Injected] = deque()
        # Bulk operations (bulk.py): how the next ones end, an optional gate holding them RUNNING, where the
        # bulk_operations/finish webhook goes (a callable (url, raw body, headers); default: POSTed), and the
        # secret it is signed with when the token's app is not one of `apps` (a custom app's own secret).
        self.bulk_mode = "completed"
        self.bulk_gate: threading.Event | None = None
        self.webhooks_sent: list[tuple[str, bytes, dict[str, str]]] = []
        self.webhook_sink = self._send_webhook
        self.webhook_secret = ""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        admin_schema()  # load before the first request, not during it

    # ---------------------------------------------------------------- lifecycle

    def start(self, port: int = 0) -> ShopifyFake:
        """Serve on 127.0.0.1:`port` (0: an ephemeral port, what tests want; `make demo-store` fixes one)."""
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="shopify-fake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for shop in self.shops.values():  # bulk operations' files (bulk.py) go with the fake
            for op in shop.bulk_operations.values():
                if op.path:
                    try:
                        os.unlink(op.path)
                    except FileNotFoundError:
                        pass

    def __enter__(self) -> ShopifyFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _send_webhook(self, url: str, raw: bytes, headers: dict[str, str]) -> None:
        """The default webhook sink: kept in `webhooks_sent`; POSTed when the address is on loopback (a test's
        live server), never out to the internet."""
        self.webhooks_sent.append((url, raw, headers))
        if urlsplit(url).hostname in ("127.0.0.1", "localhost"):
            import requests

            requests.post(url, data=raw, headers=headers, timeout=5)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url_template(self) -> str:
        """What a test puts in SHOPIFY_API_BASE_URL."""
        return self.base_url + "/{shop}"

    def graphql_url(self, shop: str, version: str = API_VERSION) -> str:
        return f"{self.base_url}/{shop}/admin/api/{version}/graphql.json"

    # ---------------------------------------------------------------- seeding

    def add_app(self, client_id: str = "switchboard-test", client_secret: str | None = None,
                scopes: list[str] | None = None) -> App:
        app = App(client_id=client_id, client_secret=client_secret or random_token("shpss_"))
        self.apps[client_id] = app
        self.app_scopes[client_id] = list(scopes or DEFAULT_SCOPES)
        return app

    def add_shop(self, domain: str = "demo-store.myshopify.com", *, name: str = "Demo Store", currency: str = "USD",
                 plan: str = "standard", locations: tuple[str, ...] = ("Main warehouse",)) -> ShopState:
        if not SHOP_DOMAIN.match(domain):
            raise ValueError(f"not a myshopify.com domain: {domain}")
        shop = ShopState(domain=domain, name=name, currency=currency, plan=plan)
        for location in locations:
            shop.add_location(location)
        self.shops[domain] = shop
        return shop

    def issue_token(self, shop: str, *, client_id: str = "custom-app", scopes: list[str] | None = None,
                    expires_in: int | None = None) -> str:
        """A token as a custom app's admin page would show it (non-expiring unless `expires_in`)."""
        value = random_token("shpat_")
        expires_at = self.clock.time() + expires_in if expires_in is not None else None
        self.tokens[value] = Token(value=value, shop=shop, client_id=client_id,
                                   scopes=list(scopes if scopes is not None else DEFAULT_SCOPES), expires_at=expires_at)
        return value

    def revoke(self, token: str) -> None:
        """The merchant uninstalled the app or rotated the token."""
        self.tokens[token].revoked = True

    # ---------------------------------------------------------------- failure injection and inspection

    def fail_next(self, count: int, *, status: int = 429, retry_after: float | None = 2.0, delay: float = 0.0,
                  target: str = "graphql") -> None:
        """Answer the next `count` requests to `target` ("graphql", "oauth" or "any") with `status`
        (429 carries `Retry-After`) after sleeping `delay` seconds (a slow or hung Shopify); the request is
        not executed. status=200 with a delay only slows the requests down and then serves them."""
        for _ in range(count):
            self._injected.append(_Injected(status, retry_after if status == 429 else None, delay, target))

    def calls(self, *, kind: str = "graphql", root_field: str | None = None, shop: str | None = None,
              status: int | None = None) -> list[RequestRecord]:
        return [r for r in self.log if r.kind == kind and (root_field is None or root_field in r.root_fields)
                and (shop is None or r.shop == shop) and (status is None or r.status == status)]

    def bucket(self, shop: str, client_id: str) -> dict:
        with self.lock:
            b = self.shops[shop].bucket(client_id, self.clock.time())
            return {"maximumAvailable": b.maximum, "currentlyAvailable": b.available, "restoreRate": b.restore_rate}

    def set_bucket(self, shop: str, client_id: str, available: float) -> None:
        """Drain (or fill) a bucket directly, e.g. to start a test at the throttling edge."""
        with self.lock:
            b = self.shops[shop].bucket(client_id, self.clock.time())
            b.available = max(0.0, min(b.maximum, available))

    def status(self) -> dict:
        """The `/_fake/status` page: every shop's catalog size and its orders, newest first, each with
        the fulfilments (and tracking) a client created."""
        with self.lock:
            return {"shops": [{
                "domain": shop.domain, "name": shop.name, "products": len(shop.products),
                "orders": [{
                    "name": order.name, "created_at": order.created_at.isoformat(),
                    "fulfillment_status": order.fulfillment_status,
                    "lines": [{"sku": li.sku, "title": li.name, "quantity": li.quantity} for li in order.line_items],
                    "fulfillments": [{"name": f.name, "created_at": f.created_at.isoformat(), "status": f.status,
                                      "tracking": f.tracking}
                                     for f in sorted(shop.fulfillments_of(order.id), key=lambda f: f.id)],
                } for order in sorted(shop.orders.values(), key=lambda o: o.number, reverse=True)],
            } for shop in self.shops.values()]}

    def _take_injection(self, kind: str) -> _Injected | None:
        with self.lock:
            if self._injected and self._injected[0].target in (kind, "any"):
                return self._injected.popleft()
        return None

    # ---------------------------------------------------------------- request handling

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(raw_path)
        path = url.path
        if method == "GET" and path.rstrip("/") == "/_fake/status":
            return self._finish(RequestRecord(at=self.clock.time(), method=method, path=path, shop=None, status=0,
                                              kind="status"), 200, self.status())
        shop_domain = None
        match = re.match(r"^/([^/]+\.myshopify\.com)(/.*)$", path)
        if match:
            shop_domain, path = match.group(1), match.group(2)
        else:
            host = (headers.get("Host") or "").split(":", 1)[0]
            if SHOP_DOMAIN.match(host):
                shop_domain = host
            elif len(self.shops) == 1:
                shop_domain = next(iter(self.shops))
        kind = ("graphql" if re.match(r"^/admin/api/[^/]+/graphql\.json$", path)
                else "oauth_authorize" if path == "/admin/oauth/authorize"
                else "oauth_token" if path == "/admin/oauth/access_token" else "other")
        record = RequestRecord(at=self.clock.time(), method=method, path=url.path, shop=shop_domain, status=0,
                               kind=kind)
        injected = self._take_injection("graphql" if kind == "graphql" else "oauth" if kind.startswith("oauth")
                                        else "other")
        if injected is not None:
            if injected.delay:
                time.sleep(injected.delay)
            if injected.status != 200:
                record.injected = True
                status, extra, payload = self._injected_response(injected)
                return self._finish(record, status, payload, extra)
        with self.lock:
            shop = self.shops.get(shop_domain or "")
            if shop is None:
                return self._finish(record, 404, {"errors": "Not Found"})
            if kind == "graphql" and method == "POST":
                return self._graphql(record, shop, path, headers, body)
            if kind == "oauth_authorize" and method == "GET":
                return self._authorize(record, shop, url.query)
            if kind == "oauth_token" and method == "POST":
                return self._access_token(record, shop, headers, body)
            return self._finish(record, 404, {"errors": "Not Found"})

    def _finish(self, record: RequestRecord, status: int, payload: Any, headers: dict[str, str] | None = None,
                ) -> tuple[int, dict[str, str], bytes]:
        record.status = status
        with self.lock:
            self.log.append(record)
        out = {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": str(uuid.uuid4())}
        out.update(headers or {})
        return status, out, json.dumps(payload).encode()

    @staticmethod
    def _injected_response(injected: _Injected) -> tuple[int, dict[str, str], Any]:
        if injected.status == 429:
            headers = {"Retry-After": f"{injected.retry_after:g}"} if injected.retry_after is not None else {}
            return 429, headers, {"errors": "Exceeded 2 calls per second for api client. "
                                            "Reduce request rates to resume uninterrupted service."}
        reason = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                  504: "Gateway Timeout"}.get(injected.status, "Error")
        return injected.status, {}, {"errors": reason}

    # ---------------------------------------------------------------- GraphQL

    def _graphql(self, record: RequestRecord, shop: ShopState, path: str, headers: Any, body: bytes,
                 ) -> tuple[int, dict[str, str], bytes]:
        version = path.split("/")[3]
        record.version = version
        if not VERSION_SEGMENT.match(version) or version > API_VERSION:
            return self._finish(record, 404, {"errors": "Not Found"})
        version_header = {"X-Shopify-API-Version": API_VERSION}
        token = self.tokens.get(headers.get("X-Shopify-Access-Token") or "")
        now = self.clock.time()
        if token is None or token.shop != shop.domain or not token.live(now):
            return self._finish(record, 401, INVALID_TOKEN_BODY, version_header)
        try:
            request = json.loads(body or b"{}")
            query = request["query"]
            if not isinstance(query, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return self._finish(record, 400, {"errors": {"query": "Required parameter missing or invalid"}},
                                version_header)
        variables = request.get("variables") or {}
        operation_name = request.get("operationName")
        record.variables = variables
        bucket = shop.bucket(token.client_id, now)

        def respond(payload: dict, requested: int = 0, actual: int | None = 0) -> tuple[int, dict, bytes]:
            payload["extensions"] = {"cost": {
                "requestedQueryCost": requested, "actualQueryCost": actual,
                "throttleStatus": {"maximumAvailable": bucket.maximum, "currentlyAvailable": int(bucket.available),
                                   "restoreRate": bucket.restore_rate}}} | payload.get("extensions", {})
            record.requested_cost, record.actual_cost = requested, actual
            record.error_codes = [e.get("extensions", {}).get("code") for e in payload.get("errors", [])]
            return self._finish(record, 200, payload, version_header)

        schema = admin_schema()
        try:
            document, validation_errors = _validated(query)
        except GraphQLSyntaxError as error:
            return respond({"errors": [{"message": error.message,
                                        "locations": [loc._asdict() for loc in error.locations or []]}]})
        if validation_errors:
            return respond({"errors": [_validation_error(e) for e in validation_errors]})
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return respond({"errors": [{"message": "An operation name is required" if not operation_name
                                        else f'No operation named "{operation_name}"'}]})
        record.operation_type = operation.operation.value
        record.operation_name = operation.name.value if operation.name else None
        record.root_fields = [s.name.value for s in operation.selection_set.selections if hasattr(s, "name")]
        coerced = get_variable_values(schema, operation.variable_definitions or [], variables)
        if isinstance(coerced, list):
            return respond({"errors": [_variable_error(e, variables) for e in coerced]})
        calculator = CostCalculator(schema, document, coerced)
        try:
            requested = calculator.requested(operation)
        except InputTooLarge as too_large:
            return respond({"errors": [{
                "message": f"The input array size of {too_large.size} is greater than the maximum allowed of "
                           f"{MAX_INPUT_ARRAY}.",
                "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"}}]})
        if requested > MAX_QUERY_COST:
            return respond({"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                           f"({MAX_QUERY_COST}).\n\nSee {RATE_LIMIT_DOC} for more information on how the cost "
                           "of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk "
                           "operations should be used instead.",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST,
                               "documentation": RATE_LIMIT_DOC}}]}, requested, None)
        if requested > bucket.available:
            return respond({"errors": [{"message": "Throttled",
                                        "extensions": {"code": "THROTTLED", "documentation": RATE_LIMIT_DOC}}]},
                           requested, None)
        bucket.available -= requested
        context = Context(shop=shop, token=token, now=now, fake=self)
        result = execute(schema, document, root_value=build_root(context), variable_values=variables,
                         operation_name=operation_name, field_resolver=field_resolver)
        actual = min(requested, calculator.actual(operation, result.data))
        bucket.available = min(bucket.maximum, bucket.available + requested - actual)
        record.idempotent_replays = context.idempotent_replays
        if operation.operation.value == "mutation" and result.data:
            record.user_error_codes = [e.get("code") for value in result.data.values() if isinstance(value, dict)
                                       for e in value.get("userErrors") or []]
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        payload["data"] = result.data
        if context.search_warnings:
            payload["extensions"] = {"search": context.search_warnings}
        return respond(payload, requested, actual)

    # ---------------------------------------------------------------- OAuth

    def _authorize(self, record: RequestRecord, shop: ShopState, query: str) -> tuple[int, dict, bytes]:
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        app = self.apps.get(params.get("client_id", ""))
        if app is None:
            return self._finish(record, 400, {"error": "invalid_request",
                                              "error_description": "The client_id is not a known app."})
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            return self._finish(record, 400, {"error": "invalid_request",
                                              "error_description": "The redirect_uri is missing."})
        code = secrets.token_hex(16)
        scopes = [s for s in params.get("scope", "").split(",") if s]
        self.codes[code] = AuthCode(code=code, shop=shop.domain, client_id=app.client_id, scopes=scopes,
                                    redirect_uri=redirect_uri)
        handle = shop.domain.split(".", 1)[0]
        callback = {"code": code, "host": base64.b64encode(f"admin.shopify.com/store/{handle}".encode()).decode()
                    .rstrip("="), "shop": shop.domain, "state": params.get("state", ""),
                    "timestamp": str(int(self.clock.time()))}
        callback["hmac"] = oauth_query_hmac(callback, app.client_secret)
        separator = "&" if "?" in redirect_uri else "?"
        record.status = 302
        with self.lock:
            self.log.append(record)
        return 302, {"Location": redirect_uri + separator + urlencode(callback)}, b""

    def _access_token(self, record: RequestRecord, shop: ShopState, headers: Any, body: bytes,
                      ) -> tuple[int, dict, bytes]:
        content_type = (headers.get("Content-Type") or "").lower()
        try:
            if "json" in content_type:
                params = json.loads(body or b"{}")
            else:
                params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        except ValueError:
            return self._finish(record, 400, {"error": "invalid_request", "error_description": "Malformed body."})
        grant = params.get("grant_type") or ("authorization_code" if params.get("code") else None)
        record.grant_type = grant
        app = self.apps.get(str(params.get("client_id", "")))
        if app is None or not hmac.compare_digest(app.client_secret, str(params.get("client_secret", ""))):
            return self._finish(record, 400, {"error": "invalid_client",
                                              "error_description": "Client authentication failed."})
        now = self.clock.time()
        if grant == "authorization_code":
            code = self.codes.get(str(params.get("code")))
            if code is None or code.used or code.shop != shop.domain or code.client_id != app.client_id:
                return self._finish(record, 400, {
                    "error": "invalid_request",
                    "error_description": "The authorization code was not found or was already used"})
            code.used = True
            expiring = str(params.get("expiring", "0")) == "1"
            return self._finish(record, 200, self._grant(shop, app, code.scopes, now, expiring=expiring))
        if grant == "refresh_token":
            old = self.refresh_tokens.get(str(params.get("refresh_token")))
            if old is None or old.used or old.shop != shop.domain or old.client_id != app.client_id \
                    or now >= old.expires_at:
                return self._finish(record, 400, {"error": "invalid_grant",
                                                  "error_description": "The refresh token is invalid or expired."})
            old.used = True  # rotation: a refresh token works once
            return self._finish(record, 200, self._grant(shop, app, old.scopes, now, expiring=True))
        if grant == "client_credentials":
            value = random_token("shpat_")
            scopes = self.app_scopes.get(app.client_id, [])
            self.tokens[value] = Token(value=value, shop=shop.domain, client_id=app.client_id, scopes=list(scopes),
                                       expires_at=now + CLIENT_CREDENTIALS_LIFETIME)
            return self._finish(record, 200, {"access_token": value, "scope": ",".join(scopes),
                                              "expires_in": CLIENT_CREDENTIALS_LIFETIME})
        return self._finish(record, 400, {"error": "unsupported_grant_type",
                                          "error_description": f"Unsupported grant type: {grant}"})

    def _grant(self, shop: ShopState, app: App, scopes: list[str], now: float, *, expiring: bool) -> dict:
        value = random_token("shpat_")
        token = Token(value=value, shop=shop.domain, client_id=app.client_id, scopes=list(scopes),
                      expires_at=now + ACCESS_TOKEN_LIFETIME if expiring else None)
        self.tokens[value] = token
        body: dict[str, Any] = {"access_token": value, "scope": ",".join(scopes)}
        if expiring:
            refresh = RefreshToken(value=random_token("shprt_"), shop=shop.domain, client_id=app.client_id,
                                   scopes=list(scopes), expires_at=now + REFRESH_TOKEN_LIFETIME)
            self.refresh_tokens[refresh.value] = refresh
            body.update(expires_in=ACCESS_TOKEN_LIFETIME, refresh_token=refresh.value,
                        refresh_token_expires_in=REFRESH_TOKEN_LIFETIME)
        return body


DEFAULT_SCOPES = ["read_orders", "write_orders", "read_all_orders", "read_products", "read_inventory",
                  "write_inventory", "read_locations", "read_merchant_managed_fulfillment_orders",
                  "write_merchant_managed_fulfillment_orders"]


def oauth_query_hmac(params: dict[str, str], secret: str) -> str:
    """Shopify's query-string HMAC (install and callback, §1.2.3): drop `hmac` and `signature`, sort,
    join `k=v` with `&`, HMAC-SHA256 with the client secret, lowercase hex."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


_UNDEFINED_FIELD = re.compile(r"^Cannot query field '(\w+)' on type '(\w+)'")
_UNKNOWN_ARGUMENT = re.compile(r"^Unknown argument '(\w+)' on field '(\w+)\.(\w+)'")
_MISSING_ARGUMENT = re.compile(r"^Argument '\w+\.(\w+)\((\w+):\)' of type '[^']+' is required")


@functools.lru_cache(maxsize=256)
def _validated(query: str) -> tuple[DocumentNode, tuple[GraphQLError, ...]]:
    """The query parsed and validated against the Admin schema, once per query text, as a GraphQL server caches
    what it has parsed and validated: a client sends the same few query texts with different variables, and
    validating a page's query against Shopify's whole schema cost the fake more than answering it. Variables,
    cost and the budget are still checked on every request. A syntax error raises (and is not cached)."""
    document = parse(query)
    return document, tuple(validate(admin_schema(), document))


def _validation_error(error: GraphQLError) -> dict:
    """graphql-core's validation error in the words and codes Shopify's graphql-ruby uses for the
    common cases (a misspelled field, an unknown or missing argument); other messages pass through."""
    out = error.formatted
    message = error.message
    if match := _UNDEFINED_FIELD.match(message):
        out["message"] = f"Field '{match.group(1)}' doesn't exist on type '{match.group(2)}'"
        out["extensions"] = {"code": "undefinedField", "typeName": match.group(2), "fieldName": match.group(1)}
    elif match := _UNKNOWN_ARGUMENT.match(message):
        out["message"] = f"Field '{match.group(3)}' doesn't accept argument '{match.group(1)}'"
        out["extensions"] = {"code": "argumentNotAccepted", "name": match.group(3), "typeName": "Field",
                             "argumentName": match.group(1)}
    elif match := _MISSING_ARGUMENT.match(message):
        out["message"] = f"Field '{match.group(1)}' is missing required arguments: {match.group(2)}"
        out["extensions"] = {"code": "missingRequiredArguments", "className": "Field", "name": match.group(1),
                             "arguments": match.group(2)}
    out.pop("path", None)
    return out


_VARIABLE = re.compile(r"^Variable '\$(\w+)' has invalid value(?: at ([^:]+))?: (.*)$", re.S)


def _variable_error(error: GraphQLError, variables: dict) -> dict:
    """A variable that does not fit its declared input type, with graphql-ruby's `problems` list."""
    out = error.formatted
    if match := _VARIABLE.match(error.message):
        name, where, explanation = match.groups()
        path = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", where or "")]
        out["extensions"] = {"value": variables.get(name), "problems": [{"path": path, "explanation": explanation}]}
    out.pop("path", None)
    return out


class _Handler(BaseHTTPRequestHandler):
    fake: ShopifyFake
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes on a kept-alive connection: with Nagle's algorithm on (the
    # socketserver default) the body waited for the client's delayed ACK of the headers, ~40 ms a response,
    # which no real server adds (and which was most of a paged backfill's time against the fake).
    disable_nagle_algorithm = True

    def _bulk_file(self) -> None:
        """A bulk operation's JSONL (bulk.py), streamed from disk in chunks, Range honoured."""
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self.fake.lock:
            status, headers, path, start, length = bulk_serve_file(self.fake, url.path, query,
                                                                   self.headers.get("Range"))
        self.fake.log.append(RequestRecord(at=time.time(), method="GET", path=url.path, shop=None, status=status,
                                           kind="bulk_file"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if path is None:
            return
        with open(path, "rb") as handle:
            handle.seek(start)
            left = length
            while left > 0:
                chunk = handle.read(min(left, 256 * 1024))
                if not chunk:
                    break
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    return
                left -= len(chunk)

    def _serve(self, method: str) -> None:
        if method == "GET" and self.path.startswith("/_fake/bulk/"):
            self._bulk_file()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            status, headers, payload = self.fake.handle(method, self.path, self.headers, body)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must reach the test, not hang the client
            status, headers = 500, {"Content-Type": "application/json"}
            payload = json.dumps({"errors": f"fake crashed: {exc!r}"}).encode()
            self.fake.log.append(RequestRecord(at=time.time(), method=method, path=self.path, shop=None,
                                               status=500, kind="crash"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass
