"""The fake WooCommerce store: a threaded HTTP server on 127.0.0.1 with an ephemeral port, serving the REST
API under `/wp-json/wc/v3/` as channels-and-carriers.md §2 and WooCommerce's own source describe it.

Authentication (class-wc-rest-authentication.php): over HTTPS a key goes by HTTP Basic (or the
`consumer_key`/`consumer_secret` query parameters); over plain HTTP WooCommerce never looks at Basic and
accepts only OAuth 1.0a one-legged signatures (HMAC-SHA1 or HMAC-SHA256, parameters in the query string,
a form body or an `Authorization: OAuth` header; base string over the store's own URL; key `secret&`;
timestamp within 15 minutes; a nonce used again is refused; the JSON body is not signed). A request with no
usable credentials is anonymous and the endpoint answers `woocommerce_rest_cannot_view` (401). A key
without write permission is refused on POST/PUT/PATCH/DELETE with `woocommerce_rest_authentication_error`
"The API key provided does not have write permissions." (401, check_permissions); a key of a WordPress user
who may not edit is refused by the endpoint with `woocommerce_rest_cannot_edit`/`_cannot_batch`/
`_cannot_create` (403, rest_authorization_required_code() for a logged-in user).

HTTPS: `WooCommerceFake(https=True)` listens with TLS, with a self-signed certificate for 127.0.0.1 made at
start (`fake.ca_bundle` is its path: give it to the client's session as `verify`). That is how WordPress
decides too: is_ssl() is about the connection the request came in on, so the switch is the listener, not a
header a client could send.

Collections: `per_page` 1–100 (101 is WordPress core's 400 `rest_invalid_param`), `page` from 1, a page past
the last is `[]`; `X-WP-Total`, `X-WP-TotalPages` and `Link` on every list. Orders: `modified_after`/
`modified_before`/`after`/`before` compare with the store-local dates unless `dates_are_gmt=true`, `orderby`
date|modified|id, `order` asc|desc, `status`. Products (not variations) and `/products/{id}/variations`, `sku`
filter. Batches: at most 100 objects (create+update+delete) or 413 `woocommerce_rest_request_entity_too_large`;
an item that fails is answered `{"id", "error": {"code", "message", "data"}}` and the others apply.

Webhooks: `POST /webhooks` pings the delivery URL synchronously before its 201 (webhooks.py); changes made
through the API or the seeding methods queue deliveries, sent by a background thread (WooCommerce sends them
from Action Scheduler after the request); a (webhook, resource) already queued is not queued again.

Key granting (class-wc-auth.php, `/wc-auth/v1/<route>`; the merchant is taken as signed in to wp-admin with
`manage_woocommerce`, `wc_auth_can_manage=False` says not): every route first checks `app_name`, `user_id`,
`return_url`, `callback_url` and `scope` are present ("Missing parameter …"), the scope is read, write or
read_write ("Invalid scope …"), both URLs are URLs once `https://` is put before one without a scheme, and the
callback is https ("The callback_url needs to be over SSL"); a failure is wp_die's 401 HTML "Error: ….".
`authorize` answers the grant page: its Approve link is `access_granted` with a nonce, its Deny link is
`return_url` with `success=0&user_id=…`. `access_granted` checks the nonce, creates a key with the scope as
its permissions, POSTs `{"key_id", "user_id", "consumer_key", "consumer_secret", "key_permissions"}` as JSON to
the callback (only an exact 200 succeeds; otherwise the key is deleted and the merchant sees "Error: An error
occurred in the request and at the time were unable to send the consumer data."), then redirects (302) to
`return_url` with `success=1&user_id=…`. `callback_ca_bundle` is the certificate our test server's TLS
listener uses. Not modelled: wp_safe_remote_post's refusal of private addresses and of ports other than
80/443/8080 (the test's callback is on loopback); the login page.

Failure injection: `fail_next(n, status=500|503, retry_after=...)` answers the next n API calls without
executing them (500 as WordPress's critical-error JSON, 503 as maintenance mode: HTML and `Retry-After`).

Not verified against WooCommerce (plausible, never relied on by name): the per-item error code for an unknown
id inside a batch, the text of the `rest_invalid_param` details, the `/wp-json/` index's fields beyond
`namespaces`, and whether a variation's save also sends `product.updated` for its parent (here it does not).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import ipaddress
import json
import math
import queue
import re
import ssl
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fakes.shopify.state import ManualClock, RealClock

from .state import ORDER_STATUSES, WC_DATE, WEBHOOK_TOPICS, ApiKey, StoreState, Webhook
from .webhooks import (
    DELIVERY_TIMEOUT,
    PING_TIMEOUT,
    encode_payload,
    ping_request,
    webhook_request,
)

API = "wc/v3"
TRACKING_API = "wc-shipment-tracking/v3"
BATCH_LIMIT = 100
OAUTH_WINDOW = 15 * 60
MAX_FAILURES = 5  # woocommerce_max_webhook_delivery_failures
OAUTH_PARAMS = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
BASIC_REALM = ('Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret in '
               'the password field."')
MAINTENANCE_HTML = (b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>Briefly unavailable "
                    b"for scheduled maintenance. Check back in a minute.</h1></body></html>")
CRITICAL_ERROR = {"code": "internal_server_error",
                  "message": "<p>There has been a critical error on this website.</p>", "data": {"status": 500}}


class WcError(Exception):
    """A WP_Error as the REST server renders it: {"code", "message", "data": {"status", ...}}."""

    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


def invalid_param(name: str, message: str, code: str = "rest_invalid_param") -> WcError:
    return WcError(400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: message},
                   details={name: {"code": code, "message": message, "data": None}})


def rfc3986(value: str) -> str:
    """wc_rest_urlencode_rfc3986: rawurlencode with `~` left alone."""
    return quote(value, safe="~")


@dataclass
class RequestRecord:
    """One request as the fake saw it; tests and the benchmark count and inspect these."""

    at: float
    method: str
    path: str
    query: dict[str, list[str]]
    status: int = 0
    auth: str | None = None  # "basic" | "oauth" | None
    injected: bool = False
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Delivery:
    """One webhook POST the fake made (a ping or a delivery) and what came back."""

    webhook_id: int
    topic: str | None  # None for the creation ping
    resource_id: int | None
    status: int | None  # None when nothing answered
    body: bytes
    headers: dict[str, str]


@dataclass
class _Injected:
    status: int
    retry_after: float | None


class WooCommerceFake:
    def __init__(self, *, clock: RealClock | ManualClock | None = None, timezone: str = "Europe/Berlin",
                 currency: str = "EUR", https: bool = False, shipment_tracking: bool = False,
                 pretty_permalinks: bool = True) -> None:
        self.clock = clock or RealClock()
        self.https = https
        self.shipment_tracking = shipment_tracking
        self.pretty_permalinks = pretty_permalinks
        self.lock = threading.RLock()
        self.store = StoreState(clock=self.clock, timezone=timezone, currency=currency)
        self.log: list[RequestRecord] = []
        self.deliveries: list[Delivery] = []
        self.crashes: list[str] = []
        self.item_errors: dict[int, tuple[str, str]] = {}
        self._injected: deque[_Injected] = deque()
        self._queue: queue.Queue[tuple[int, int] | None] = queue.Queue()
        self._queued: set[tuple[int, int]] = set()
        self._idle = threading.Condition()
        self._in_flight = 0
        self._server: ThreadingHTTPServer | None = None
        self._worker: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.ca_bundle: str | None = None
        self.callback_ca_bundle: str | bool = True  # what the key delivery trusts (True: the system's CAs)
        self.wc_auth_can_manage = True
        self.wc_auth_nonces: set[str] = set()
        self.key_deliveries: list[tuple[str, dict[str, Any], int | None]] = []  # (callback_url, body, status)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> WooCommerceFake:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if self.https:
            self._tmp = tempfile.TemporaryDirectory(prefix="woo-fake-tls-")
            cert, key = _self_signed(Path(self._tmp.name))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.ca_bundle = str(cert)
        self.store.home_url = self.base_url
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="woo-fake",
                         daemon=True).start()
        self._worker = threading.Thread(target=self._deliver_forever, name="woo-fake-webhooks", daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._queue.put(None)
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> WooCommerceFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The store URL a merchant types in (the site's home URL)."""
        assert self._server is not None, "start() the fake first"
        return f"{'https' if self.https else 'http'}://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/wp-json/{API}"

    # ---------------------------------------------------------------- seeding (each change WooCommerce would announce is announced)

    def add_key(self, *, permissions: str = "read_write", user_can_edit: bool = True) -> ApiKey:
        with self.lock:
            return self.store.add_key(permissions=permissions, user_can_edit=user_can_edit)

    def revoke_key(self, consumer_key: str) -> None:
        with self.lock:
            self.store.revoke_key(consumer_key)

    def place_order(self, lines: list[tuple[dict[str, Any], int]] | None = None, **fields: Any) -> dict[str, Any]:
        """A customer checks out: the order exists and `order.created` is queued."""
        with self.lock:
            order = self.store.add_order(lines, **fields)
            self._emit("order.created", order["id"])
            return order

    def change_order(self, order_id: int, *, status: str | None = None, **fields: Any) -> dict[str, Any]:
        """The merchant edits an order in wp-admin (a payment arrives, a line changes): `order.updated`."""
        with self.lock:
            order = self.store.orders[order_id]
            order.update(fields)
            if status is not None:
                self.store.set_order_status(order, status)
            else:
                self.store.touch(order)
            self._emit("order.updated", order_id)
            return order

    def trash_order(self, order_id: int) -> None:
        """Moved to the bin: status `trash` and `order.deleted` with `{"id": ...}`."""
        with self.lock:
            order = self.store.orders[order_id]
            order["status"] = "trash"
            self.store.touch(order)
            self._emit("order.deleted", order_id)

    def reject_item(self, product_id: int, code: str = "product_invalid_sku",
                    message: str = "Invalid or duplicated SKU.") -> None:
        """Every later update of this product or variation fails with this error (alone, inside a batch)."""
        with self.lock:
            self.item_errors[product_id] = (code, message)

    # ---------------------------------------------------------------- failure injection and inspection

    def fail_next(self, count: int, *, status: int = 500, retry_after: float | None = 600) -> None:
        """Answer the next `count` API requests with `status` without executing them; a 503 carries
        `Retry-After` (WordPress's maintenance mode sends 600)."""
        with self.lock:
            for _ in range(count):
                self._injected.append(_Injected(status, retry_after if status == 503 else None))

    def fail_after(self, passing: int, count: int, *, status: int = 500) -> None:
        """Let the next `passing` API requests through, then answer `count` with `status` (a failure in the
        middle of a run: the third page of a backfill)."""
        with self.lock:
            self._injected.extend([_Injected(0, None)] * passing)
            self._injected.extend([_Injected(status, None)] * count)

    def calls(self, *, method: str | None = None, path: str | None = None, injected: bool | None = None,
              ) -> list[RequestRecord]:
        """Requests in arrival order, narrowed by method, path (a regular expression matched from the
        start of the path after `/wp-json/wc/v3`) and whether they were injected failures."""
        with self.lock:
            out = []
            for record in self.log:
                route = record.path.split(f"/wp-json/{API}", 1)[-1]
                if method and record.method != method:
                    continue
                if path is not None and not re.fullmatch(path, route):
                    continue
                if injected is not None and record.injected != injected:
                    continue
                out.append(record)
            return out

    def wait_for_deliveries(self, timeout: float = 30.0) -> None:
        """Block until every queued webhook delivery has been sent and answered."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight or not self._queue.empty():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("webhook deliveries still pending")
                self._idle.wait(left)

    # ---------------------------------------------------------------- webhooks

    def _emit(self, topic: str, resource_id: int) -> None:
        """Queue a delivery for every active webhook on `topic` (caller holds the lock)."""
        for hook in self.store.webhooks.values():
            if hook.topic == topic and hook.status == "active" and (hook.id, resource_id) not in self._queued:
                self._queued.add((hook.id, resource_id))
                with self._idle:
                    self._in_flight += 1
                self._queue.put((hook.id, resource_id))

    def _payload(self, hook: Webhook, resource_id: int) -> Any:
        if hook.event == "deleted":
            return {"id": resource_id}
        if hook.resource == "order":
            return self.store.orders.get(resource_id, {"id": resource_id})
        if hook.resource == "product":
            return self.store.products.get(resource_id, {"id": resource_id})
        return {"id": resource_id}

    def _deliver_forever(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                self._deliver(*item)
            finally:
                with self._idle:
                    self._in_flight -= 1
                    self._idle.notify_all()

    def _deliver(self, webhook_id: int, resource_id: int) -> None:
        with self.lock:
            self._queued.discard((webhook_id, resource_id))
            hook = self.store.webhooks.get(webhook_id)
            if hook is None or hook.status != "active":
                return
            raw, headers = webhook_request(topic=hook.topic, body=encode_payload(self._payload(hook, resource_id)),
                                           secret=hook.secret, webhook_id=hook.id,
                                           source=self.store.home_url + "/", at=self.clock.time())
            url = hook.delivery_url
        status = _post(url, raw, headers, DELIVERY_TIMEOUT)
        with self.lock:
            self.deliveries.append(Delivery(webhook_id, hook.topic, resource_id, status, raw, headers))
            if status is not None and 200 <= status < 303:
                hook.failure_count = 0
            elif hook.failure_count > MAX_FAILURES:
                hook.status = "disabled"
            else:
                hook.failure_count += 1

    def _ping(self, hook: Webhook) -> None:
        """deliver_ping(): synchronous, unsigned; success (pending_delivery cleared) only on exactly 200."""
        raw, headers = ping_request(hook.id)
        status = _post(hook.delivery_url, raw, headers, PING_TIMEOUT)
        with self.lock:
            self.deliveries.append(Delivery(hook.id, None, None, status, raw, headers))
            if status == 200:
                hook.pending_delivery = False

    # ---------------------------------------------------------------- request handling

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(raw_path)
        query = parse_qs(url.query, keep_blank_values=True)
        record = RequestRecord(at=self.clock.time(), method=method, path=url.path, query=query,
                               headers={k: v for k, v in headers.items()})
        path = url.path.rstrip("/")
        if path.startswith("/wc-auth/v1/"):
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) if body else {}
            return self._wc_auth(record, path[len("/wc-auth/v1/"):], {**form, **query})
        if not path.startswith("/wp-json"):
            return self._finish(record, 404, b"<html><body>Not found</body></html>", content_type="text/html")
        if not self.pretty_permalinks:
            # Plain permalinks: /wp-json/ is no route WordPress knows; the theme's 404 page answers.
            return self._finish(record, 404, b"<html><body>Page not found</body></html>", content_type="text/html")
        with self.lock:
            injected = self._injected.popleft() if self._injected else None
        if injected is not None and injected.status == 0:  # fail_after's requests let through
            injected = None
        if injected is not None:
            record.injected = True
            if injected.status == 503:
                extra = {"Retry-After": f"{injected.retry_after:g}"} if injected.retry_after is not None else {}
                return self._finish(record, 503, MAINTENANCE_HTML, extra, content_type="text/html; charset=utf-8")
            return self._finish(record, injected.status, CRITICAL_ERROR)
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) \
            if content_type == "application/x-www-form-urlencoded" else {}
        json_body: Any = None
        if content_type == "application/json" and body:
            try:
                json_body = json.loads(body)
            except ValueError:
                return self._finish(record, 400, {"code": "rest_invalid_json", "message": "Invalid JSON body passed.",
                                                  "data": {"status": 400, "json_error_code": 4,
                                                           "json_error_message": "Syntax error"}})
        record.body = json_body if json_body is not None else (dict(form) or None)
        try:
            with self.lock:
                route = path[len("/wp-json"):].strip("/")
                if route == "":
                    return self._finish(record, 200, self._index())
                key = self._authenticate(record, method, url.path, query, form, headers)
                if key is not None and method in WRITE_METHODS and key.permissions not in ("write", "read_write"):
                    raise WcError(401, "woocommerce_rest_authentication_error",
                                  "The API key provided does not have write permissions.")
                if key is not None and method in ("GET", "HEAD") and key.permissions not in ("read", "read_write"):
                    raise WcError(401, "woocommerce_rest_authentication_error",
                                  "The API key provided does not have read permissions.")
                params = {k: v[-1] for k, v in query.items()}
                data = json_body if isinstance(json_body, dict) else {k: v[-1] for k, v in form.items()}
                status, payload, extra = self._dispatch(method, route, params, data, key)
                return self._finish(record, status, payload, extra)
        except WcError as error:
            extra = {"WWW-Authenticate": BASIC_REALM} if error.status == 401 and record.auth == "basic" else {}
            return self._finish(record, error.status, error.body(), extra)

    def _finish(self, record: RequestRecord, status: int, payload: Any, headers: dict[str, str] | None = None, *,
                content_type: str = "application/json; charset=UTF-8") -> tuple[int, dict[str, str], bytes]:
        record.status = status
        with self.lock:
            self.log.append(record)
        out = {"Content-Type": content_type}
        out.update(headers or {})
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return status, out, raw

    def _index(self) -> dict[str, Any]:
        namespaces = ["oembed/1.0", "wc/v1", "wc/v2", "wc/v3", "wp/v2"]
        if self.shipment_tracking:
            namespaces.append(TRACKING_API)
        return {"name": "Fake Woo Store", "url": self.store.home_url, "home": self.store.home_url,
                "namespaces": namespaces}

    # ---------------------------------------------------------------- key granting (class-wc-auth.php)

    def _wc_auth(self, record: RequestRecord, route: str, request: dict[str, list[str]],
                 ) -> tuple[int, dict[str, str], bytes]:
        key: ApiKey | None = None
        try:
            data = _wc_auth_validate(request)
            route = route.strip("/").lower()
            if route == "authorize" and self.wc_auth_can_manage:
                nonce = uuid.uuid4().hex[:10]
                with self.lock:
                    self.wc_auth_nonces.add(nonce)
                granted = self._wc_auth_url(data, "access_granted") + f"&wc_auth_nonce={nonce}"
                denied = _add_query_arg(_formatted_url(data["return_url"]),
                                        {"success": "0", "user_id": data["user_id"]})
                page = (f'<!DOCTYPE html><html><body><h1>{html.escape(data["app_name"])} would like to connect '
                        f'to your store</h1><p class="wc-auth-actions">'
                        f'<a href="{html.escape(granted)}" class="button button-primary wc-auth-approve">Approve</a>'
                        f'<a href="{html.escape(denied)}" class="button wc-auth-deny">Deny</a></p></body></html>')
                return self._finish(record, 200, page.encode(), content_type="text/html; charset=UTF-8")
            if route == "access_granted" and self.wc_auth_can_manage:
                nonce = request.get("wc_auth_nonce", [""])[-1]
                with self.lock:
                    if nonce not in self.wc_auth_nonces:
                        raise ValueError("Invalid nonce verification")
                    self.wc_auth_nonces.discard(nonce)
                    key = self.store.add_key(permissions=data["scope"])
                consumer_data = {"key_id": key.key_id, "user_id": data["user_id"], "consumer_key": key.consumer_key,
                                 "consumer_secret": key.consumer_secret, "key_permissions": key.permissions}
                callback = _formatted_url(data["callback_url"])
                try:  # outside the lock: our callback may call this store back while it answers
                    status: int | None = requests.post(
                        callback, data=json.dumps(consumer_data).encode(), timeout=60, allow_redirects=False,
                        headers={"Content-Type": "application/json;charset=UTF-8"},
                        verify=self.callback_ca_bundle).status_code
                except requests.RequestException:
                    status = None
                with self.lock:
                    self.key_deliveries.append((callback, consumer_data, status))
                if status != 200:
                    raise ValueError("An error occurred in the request and at the time were unable to send the "
                                     "consumer data")
                location = _add_query_arg(_formatted_url(data["return_url"]),
                                          {"success": "1", "user_id": data["user_id"]})
                return self._finish(record, 302, b"", {"Location": location}, content_type="text/html")
            raise ValueError("You do not have permission to access this page")
        except ValueError as error:
            if key is not None:  # maybe_delete_key
                with self.lock:
                    self.store.revoke_key(key.consumer_key)
            page = f"<html><head><title>Access denied</title></head><body>Error: {html.escape(str(error))}.</body></html>"
            return self._finish(record, 401, page.encode(), content_type="text/html; charset=UTF-8")

    def _wc_auth_url(self, data: dict[str, str], endpoint: str) -> str:
        """build_url(): the same parameters on another route (return and callback URLs rawurlencoded)."""
        query = "&".join([f"app_name={quote(data['app_name'])}", f"user_id={quote(data['user_id'])}",
                          f"return_url={quote(_formatted_url(data['return_url']), safe='')}",
                          f"callback_url={quote(_formatted_url(data['callback_url']), safe='')}",
                          f"scope={quote(data['scope'])}"])
        return f"{self.base_url}/wc-auth/v1/{endpoint}?{query}"

    # ---------------------------------------------------------------- authentication

    def _authenticate(self, record: RequestRecord, method: str, path: str, query: dict[str, list[str]],
                      form: dict[str, list[str]], headers: Any) -> ApiKey | None:
        """WC_REST_Authentication::authenticate: Basic only over TLS, then OAuth 1.0a; None is anonymous."""
        if self.https:
            record.auth = "basic"
            consumer_key = consumer_secret = ""
            if query.get("consumer_key", [""])[-1] and query.get("consumer_secret", [""])[-1]:
                consumer_key, consumer_secret = query["consumer_key"][-1], query["consumer_secret"][-1]
            else:
                authorization = headers.get("Authorization") or ""
                if authorization[:6].lower() == "basic ":
                    try:
                        decoded = base64.b64decode(authorization[6:].strip()).decode()
                        consumer_key, _, consumer_secret = decoded.partition(":")
                    except (ValueError, UnicodeDecodeError):
                        consumer_key = consumer_secret = ""
            if consumer_key and consumer_secret:
                key = self.store.keys.get(consumer_key)
                if key is not None:
                    if not hmac.compare_digest(key.consumer_secret, consumer_secret):
                        raise WcError(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
                    return key
        return self._oauth(record, method, path, query, form, headers)

    def _oauth(self, record: RequestRecord, method: str, path: str, query: dict[str, list[str]],
               form: dict[str, list[str]], headers: Any) -> ApiKey | None:
        params = {k: v[-1] for k, v in {**query, **form}.items()}
        authorization = (headers.get("Authorization") or "").strip()
        if authorization.startswith("OAuth "):
            for name, quoted, bare in re.findall(r'(oauth_[a-z_-]*)=(?:"([^"]*)"|([^,]*))', authorization):
                params[name] = unquote(quoted or bare)
        present = [name for name in OAUTH_PARAMS if params.get(name)]
        if not present:
            return None
        record.auth = "oauth"
        missing = [name for name in OAUTH_PARAMS if not params.get(name)]
        if missing:
            noun = "parameter" if len(missing) == 1 else "parameters"
            raise WcError(401, "woocommerce_rest_authentication_missing_parameter",
                          f"Missing OAuth {noun} {', '.join(missing)}")
        key = self.store.keys.get(params["oauth_consumer_key"])
        if key is None:
            raise WcError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        signature = params.pop("oauth_signature").replace(" ", "+")
        method_name = params["oauth_signature_method"]
        normalized = sorted((rfc3986(k), rfc3986(v)) for k, v in params.items())
        base_uri = rfc3986(self.store.home_url + path)
        string_to_sign = f"{method.upper()}&{base_uri}&" + "%26".join(rfc3986(f"{k}={v}") for k, v in normalized)
        if method_name not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise WcError(401, "woocommerce_rest_authentication_error", "Invalid signature - signature method is invalid.")
        digest = hashlib.sha1 if method_name == "HMAC-SHA1" else hashlib.sha256
        expected = base64.b64encode(hmac.new(f"{key.consumer_secret}&".encode(), string_to_sign.encode(),
                                             digest).digest()).decode()
        if not hmac.compare_digest(expected, unquote(signature)):
            raise WcError(401, "woocommerce_rest_authentication_error",
                          "Invalid signature - provided signature does not match.")
        try:
            timestamp = int(params["oauth_timestamp"])
        except ValueError:
            timestamp = 0
        now = int(self.clock.time())
        if timestamp < now - OAUTH_WINDOW or timestamp > now + OAUTH_WINDOW:
            raise WcError(401, "woocommerce_rest_authentication_error", "Invalid timestamp.")
        nonce = params["oauth_nonce"]
        if nonce in key.nonces.values():
            raise WcError(401, "woocommerce_rest_authentication_error", "Invalid nonce - nonce has already been used.")
        key.nonces[timestamp] = nonce  # keyed by timestamp, as WooCommerce stores them
        for stamp in [s for s in key.nonces if s < now - OAUTH_WINDOW]:
            del key.nonces[stamp]
        return key

    # ---------------------------------------------------------------- routing

    def _dispatch(self, method: str, route: str, params: dict[str, str], data: dict[str, Any],
                  key: ApiKey | None) -> tuple[int, Any, dict[str, str]]:
        for pattern, handlers in self._routes():
            match = re.fullmatch(pattern, route)
            if match and method in handlers:
                action, handler = handlers[method]
                self._permit(action, key)
                return handler(params, data, *[int(g) for g in match.groups()])
        raise WcError(404, "rest_no_route", "No route was found matching the URL and request method")

    def _routes(self) -> list[tuple[str, dict[str, tuple[str, Any]]]]:
        edit = ("edit", self._order_update)
        routes = [
            (f"{API}/orders", {"GET": ("list", self._orders_list)}),
            (rf"{API}/orders/(\d+)", {"GET": ("view", self._order_get), "PUT": edit, "POST": edit, "PATCH": edit,
                                       "DELETE": ("delete", self._order_delete)}),
            (rf"{API}/orders/(\d+)/notes", {"GET": ("list", self._notes_list), "POST": ("create", self._note_create)}),
            (f"{API}/products", {"GET": ("list", self._products_list)}),
            (f"{API}/products/batch", {"POST": ("batch", self._products_batch),
                                        "PUT": ("batch", self._products_batch)}),
            (rf"{API}/products/(\d+)", {"GET": ("view", self._product_get), "PUT": ("edit", self._product_update),
                                         "POST": ("edit", self._product_update)}),
            (rf"{API}/products/(\d+)/variations", {"GET": ("list", self._variations_list)}),
            (rf"{API}/products/(\d+)/variations/batch", {"POST": ("batch", self._variations_batch),
                                                          "PUT": ("batch", self._variations_batch)}),
            (rf"{API}/products/(\d+)/variations/(\d+)", {"GET": ("view", self._variation_get),
                                                          "PUT": ("edit", self._variation_update),
                                                          "POST": ("edit", self._variation_update)}),
            (f"{API}/webhooks", {"GET": ("list", self._webhooks_list), "POST": ("create", self._webhook_create)}),
            (rf"{API}/webhooks/(\d+)", {"GET": ("view", self._webhook_get), "PUT": ("edit", self._webhook_update),
                                         "POST": ("edit", self._webhook_update),
                                         "DELETE": ("delete", self._webhook_delete)}),
        ]
        if self.shipment_tracking:
            routes.append((rf"{TRACKING_API}/orders/(\d+)/shipment-trackings",
                           {"GET": ("list", self._trackings_list), "POST": ("create", self._tracking_create)}))
        return routes

    @staticmethod
    def _permit(action: str, key: ApiKey | None) -> None:
        """The endpoint's permission_callback: anonymous → 401, a user lacking the capability → 403."""
        if key is not None and (action in ("list", "view") or key.user_can_edit):
            return
        status = 401 if key is None else 403
        code, message = {
            "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
            "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
            "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
            "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
            "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
            "batch": ("woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource."),
        }[action]
        raise WcError(status, code, message)

    # ---------------------------------------------------------------- collections

    def _page(self, items: list[Any], params: dict[str, str], route: str) -> tuple[int, Any, dict[str, str]]:
        per_page = _int_param(params, "per_page", 10, 1, 100)
        page = _int_param(params, "page", 1, 1, None)
        offset = _int_param(params, "offset", 0, 0, None) if "offset" in params else (page - 1) * per_page
        total = len(items)
        pages = math.ceil(total / per_page) if total else 0
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        base = f"{self.store.home_url}/wp-json/{route}"
        kept = {k: v for k, v in params.items() if k not in ("page", "consumer_key", "consumer_secret")
                and not k.startswith("oauth_")}
        links = []
        if page > 1 and pages:
            links.append(f'<{base}?{urlencode({**kept, "page": min(page - 1, pages)})}>; rel="prev"')
        if page < pages:
            links.append(f'<{base}?{urlencode({**kept, "page": page + 1})}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        return 200, items[offset:offset + per_page], headers

    def _sorted(self, items: list[dict[str, Any]], params: dict[str, str], default_order: str = "desc",
                ) -> list[dict[str, Any]]:
        order = params.get("order", default_order)
        if order not in ("asc", "desc"):
            raise invalid_param("order", "order is not one of asc and desc.")
        orderby = params.get("orderby", "date")
        fields = {"date": "date_created_gmt", "modified": "date_modified_gmt", "id": "id", "title": "name",
                  "slug": "name", "include": "id"}
        if orderby not in fields:
            raise invalid_param("orderby", f"orderby is not one of {', '.join(fields)}.")
        name = fields[orderby]
        return sorted(items, key=lambda o: (o.get(name) or "", o["id"]), reverse=order == "desc")

    def _date_filters(self, items: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
        gmt = _bool_param(params, "dates_are_gmt")
        for name, column, keep in (("after", "created", lambda v, b: v > b), ("before", "created", lambda v, b: v < b),
                                   ("modified_after", "modified", lambda v, b: v > b),
                                   ("modified_before", "modified", lambda v, b: v < b)):
            if name not in params:
                continue
            bound = _date_param(params, name)
            field_name = f"date_{column}_gmt" if gmt else f"date_{column}"
            items = [o for o in items if o.get(field_name) and keep(datetime.strptime(o[field_name], WC_DATE), bound)]
        return items

    # ---------------------------------------------------------------- orders

    def _order(self, order_id: int) -> dict[str, Any]:
        order = self.store.orders.get(order_id)
        if order is None:
            raise WcError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return order

    def _orders_list(self, params, data):
        statuses = [s for s in params.get("status", "any").split(",") if s]
        for status in statuses:
            if status != "any" and status not in ORDER_STATUSES:
                raise invalid_param("status", f"status[0] is not one of any, {', '.join(ORDER_STATUSES)}.")
        orders = list(self.store.orders.values())
        if "any" in statuses:
            orders = [o for o in orders if o["status"] not in ("trash", "checkout-draft")]
        else:
            orders = [o for o in orders if o["status"] in statuses]
        orders = self._sorted(self._date_filters(orders, params), params)
        return self._page(orders, params, f"{API}/orders")

    def _order_get(self, params, data, order_id):
        return 200, self._order(order_id), {}

    def _order_update(self, params, data, order_id):
        order = self._order(order_id)
        if "status" in data:
            if data["status"] not in ORDER_STATUSES:
                raise invalid_param("status", f"status is not one of {', '.join(ORDER_STATUSES)}.")
            self.store.set_order_status(order, data["status"])
        else:
            self.store.touch(order)
        for name in ("customer_note", "meta_data", "transaction_id"):
            if name in data:
                order[name] = data[name]
        self._emit("order.updated", order_id)
        return 200, order, {}

    def _order_delete(self, params, data, order_id):
        order = self._order(order_id)
        if _bool_param(params, "force"):
            del self.store.orders[order_id]
        else:
            order["status"] = "trash"
            self.store.touch(order)
        self._emit("order.deleted", order_id)
        return 200, order, {}

    def _notes_list(self, params, data, order_id):
        self._order(order_id)
        kind = params.get("type", "any")
        notes = self.store.notes.get(order_id, [])
        if kind == "customer":
            notes = [n for n in notes if n["customer_note"]]
        elif kind == "internal":
            notes = [n for n in notes if not n["customer_note"]]
        return 200, list(reversed(notes)), {}

    def _note_create(self, params, data, order_id):
        self._order(order_id)
        if not data.get("note"):
            raise WcError(400, "rest_missing_callback_param", "Missing parameter(s): note", params=["note"])
        now = self.store.now_gmt()
        note = {"id": self.store.next_id(), "author": "WooCommerce", "note": str(data["note"]),
                "customer_note": bool(data.get("customer_note", False)), "added_by_user": False}
        self.store.stamp(note, "created", now)
        self.store.notes.setdefault(order_id, []).append(note)
        return 201, note, {"Location": f"{self.store.home_url}/wp-json/{API}/orders/{order_id}/notes/{note['id']}"}

    def _trackings_list(self, params, data, order_id):
        if order_id not in self.store.orders:
            raise WcError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
        return 200, self.store.trackings.get(order_id, []), {}

    def _tracking_create(self, params, data, order_id):
        if order_id not in self.store.orders:
            raise WcError(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
        if not data.get("tracking_number"):
            raise WcError(400, "rest_missing_callback_param", "Missing parameter(s): tracking_number",
                          params=["tracking_number"])
        tracking = {"tracking_id": hashlib.md5(f"{order_id}{data['tracking_number']}".encode()).hexdigest(),  # noqa: S324
                    "tracking_provider": data.get("custom_tracking_provider") or data.get("tracking_provider") or "",
                    "tracking_link": data.get("custom_tracking_link") or "",
                    "tracking_number": str(data["tracking_number"]),
                    "date_shipped": data.get("date_shipped") or self.store.now_gmt().strftime("%Y-%m-%d")}
        self.store.trackings.setdefault(order_id, []).append(tracking)
        return 201, tracking, {}

    # ---------------------------------------------------------------- products and variations

    def _products_list(self, params, data):
        items = [p for p in self.store.products.values() if p["type"] != "variation"]
        if params.get("sku"):
            wanted = set(params["sku"].split(","))
            items = [p for p in items if p["sku"] in wanted]
        if params.get("type"):
            items = [p for p in items if p["type"] == params["type"]]
        items = self._sorted(self._date_filters(items, params), params)
        return self._page(items, params, f"{API}/products")

    def _product(self, product_id: int) -> dict[str, Any]:
        product = self.store.products.get(product_id)
        if product is None:
            raise WcError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return product

    def _product_get(self, params, data, product_id):
        return 200, self._product(product_id), {}

    def _variation(self, parent_id: int, variation_id: int) -> dict[str, Any]:
        variation = self.store.products.get(variation_id)
        if variation is None or variation["type"] != "variation" or variation["parent_id"] != parent_id:
            raise WcError(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
        return variation

    def _variations_list(self, params, data, parent_id):
        self._product(parent_id)
        items = self.store.variations_of(parent_id)
        if params.get("sku"):
            items = [v for v in items if v["sku"] == params["sku"]]
        items = self._sorted(self._date_filters(items, params), params)
        return self._page(items, params, f"{API}/products/{parent_id}/variations")

    def _variation_get(self, params, data, parent_id, variation_id):
        return 200, self._variation(parent_id, variation_id), {}

    def _apply_product(self, product: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """update_item: the item's own error if one is set, else its stock and fields, then product.updated."""
        if product["id"] in self.item_errors:
            code, message = self.item_errors[product["id"]]
            raise WcError(400, code, message, resource_id=product["id"])
        if "stock_quantity" in changes and changes["stock_quantity"] is not None:
            try:
                changes = {**changes, "stock_quantity": int(changes["stock_quantity"])}
            except (TypeError, ValueError):
                raise invalid_param("stock_quantity", "stock_quantity is not of type integer.")
        for name in ("name", "regular_price", "sale_price", "backorders"):
            if name in changes:
                product[name] = changes[name]
        if "sku" in changes:
            product["sku"] = changes["sku"]
            if product["type"] == "variation":
                self.store.own_sku[product["id"]] = changes["sku"]
        if product["type"] != "variable":
            self.store.apply_stock(product, changes)
        self.store.touch(product)
        self._emit("product.updated", product["id"])
        return product

    def _product_update(self, params, data, product_id):
        return 200, self._apply_product(self._product(product_id), data), {}

    def _variation_update(self, params, data, parent_id, variation_id):
        return 200, self._apply_product(self._variation(parent_id, variation_id), data), {}

    def _batch(self, data: dict[str, Any], find) -> tuple[int, Any, dict[str, str]]:
        total = sum(len(data.get(name) or []) for name in ("create", "update", "delete"))
        if total > BATCH_LIMIT:
            raise WcError(413, "woocommerce_rest_request_entity_too_large",
                          f"Unable to accept more than {BATCH_LIMIT} items for this request.")
        if data.get("create") or data.get("delete"):
            raise WcError(400, "fake_not_supported", "The fake supports batch updates only.")
        out = []
        for item in data.get("update") or []:
            item_id = item.get("id") if isinstance(item, dict) else None
            try:
                out.append(self._apply_product(find(int(item_id or 0)), item))
            except (WcError, ValueError, TypeError) as error:
                if not isinstance(error, WcError):
                    error = WcError(400, "woocommerce_rest_product_invalid_id", "Invalid ID.")
                out.append({"id": item_id, "error": {"code": error.code, "message": error.message,
                                                     "data": {"status": error.status, **error.data}}})
        return 200, {"update": out}, {}

    def _products_batch(self, params, data):
        def find(pid: int) -> dict[str, Any]:
            product = self.store.products.get(pid)
            if product is None or product["type"] == "variation":
                raise WcError(400, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            return product
        return self._batch(data, find)

    def _variations_batch(self, params, data, parent_id):
        self._product(parent_id)

        def find(vid: int) -> dict[str, Any]:
            try:
                return self._variation(parent_id, vid)
            except WcError as error:
                raise WcError(400, error.code, error.message)
        return self._batch(data, find)

    # ---------------------------------------------------------------- webhooks API

    def _webhook_json(self, hook: Webhook) -> dict[str, Any]:
        body = {"id": hook.id, "name": hook.name, "status": hook.status, "topic": hook.topic,
                "resource": hook.resource, "event": hook.event, "hooks": [], "delivery_url": hook.delivery_url}
        self.store.stamp(body, "created", hook.date_created_gmt)
        self.store.stamp(body, "modified", hook.date_modified_gmt)
        return body

    def _webhook(self, webhook_id: int) -> Webhook:
        hook = self.store.webhooks.get(webhook_id)
        if hook is None:
            raise WcError(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
        return hook

    def _webhooks_list(self, params, data):
        hooks = [self._webhook_json(h) for h in self.store.webhooks.values()]
        if params.get("status") and params["status"] != "all":
            hooks = [h for h in hooks if h["status"] == params["status"]]
        return self._page(sorted(hooks, key=lambda h: h["id"], reverse=True), params, f"{API}/webhooks")

    def _webhook_get(self, params, data, webhook_id):
        return 200, self._webhook_json(self._webhook(webhook_id)), {}

    def _webhook_create(self, params, data):
        topic = str(data.get("topic") or "").lower()
        if topic not in WEBHOOK_TOPICS and not topic.startswith("action."):
            raise WcError(400, "woocommerce_rest_webhook_invalid_topic", "Webhook topic is required and must be valid.")
        url = str(data.get("delivery_url") or "")
        if not re.match(r"^https?://", url):
            raise WcError(400, "woocommerce_rest_webhook_invalid_delivery_url",
                          "Webhook delivery URL must be a valid URL starting with http:// or https://.")
        status = data.get("status") or "active"
        if status not in ("active", "paused", "disabled"):
            raise invalid_param("status", "status is not one of active, paused, and disabled.")
        now = self.store.now_gmt()
        hook = Webhook(id=self.store.next_id(), name=str(data.get("name") or f"Webhook created on {now:%b %d, %Y}"),
                       topic=topic, delivery_url=url, secret=str(data.get("secret") or "derived-from-user"),
                       status=status, date_created_gmt=now, date_modified_gmt=now)
        self.store.webhooks[hook.id] = hook
        # The ping goes out before the 201 does, with the store's lock released so the receiver may call back.
        self.lock.release()
        try:
            self._ping(hook)
        finally:
            self.lock.acquire()
        return 201, self._webhook_json(hook), {"Location": f"/wp-json/{API}/webhooks/{hook.id}"}

    def _webhook_update(self, params, data, webhook_id):
        hook = self._webhook(webhook_id)
        if "status" in data:
            if data["status"] not in ("active", "paused", "disabled"):
                raise invalid_param("status", "status is not one of active, paused, and disabled.")
            hook.status = data["status"]
            if hook.status == "active":
                hook.failure_count = 0
        for name in ("name", "delivery_url", "secret"):
            if data.get(name):
                setattr(hook, name, str(data[name]))
        if data.get("topic"):
            hook.topic = str(data["topic"]).lower()
        hook.date_modified_gmt = self.store.now_gmt()
        return 200, self._webhook_json(hook), {}

    def _webhook_delete(self, params, data, webhook_id):
        hook = self._webhook(webhook_id)
        if not _bool_param(params, "force"):
            raise WcError(501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
        del self.store.webhooks[webhook_id]
        return 200, self._webhook_json(hook), {}


# -------------------------------------------------------------------- helpers


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    if name not in params:
        return default
    try:
        value = int(params[name])
    except ValueError:
        raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type")
    if value < low or (high is not None and value > high):
        bound = f"between {low} (inclusive) and {high} (inclusive)" if high is not None else f"greater than or equal to {low}"
        raise invalid_param(name, f"{name} must be {bound}", "rest_out_of_bounds")
    return value


def _bool_param(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value in ("1", "true"):
        return True
    if value in ("0", "false", ""):
        return False
    raise invalid_param(name, f"{name} is not of type boolean.", "rest_invalid_type")


def _date_param(params: dict[str, str], name: str) -> datetime:
    """rest_parse_date's ISO-8601; an explicit offset is dropped (WordPress's date_query compares the wall
    time against the local or GMT column that dates_are_gmt picks)."""
    text = params[name].strip()
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?", text)
    if not match:
        raise invalid_param(name, "Invalid date.", "rest_invalid_date")
    return datetime.strptime(match.group(1), WC_DATE)


WC_AUTH_PARAMS = ("app_name", "user_id", "return_url", "callback_url", "scope")


def _formatted_url(url: str) -> str:
    """get_formatted_url(): decoded, and https:// put before a URL without a scheme."""
    url = unquote(url)
    return url if "://" in url else "https://" + url


def _valid_url(url: str) -> bool:
    """PHP's FILTER_VALIDATE_URL, roughly: a scheme and a host, no spaces."""
    parts = urlsplit(url)
    return bool(parts.scheme and parts.netloc) and not re.search(r"\s", url)


def _add_query_arg(url: str, args: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(args)


def _wc_auth_validate(request: dict[str, list[str]]) -> dict[str, str]:
    """make_validation(): raises ValueError with WooCommerce's message."""
    data: dict[str, str] = {}
    for name in WC_AUTH_PARAMS:
        values = request.get(name) or [""]
        if not values[-1]:
            raise ValueError(f"Missing parameter {name}")
        data[name] = values[-1]
    if data["scope"] not in ("read", "write", "read_write"):
        raise ValueError(f"Invalid scope {data['scope']}")
    for name in ("return_url", "callback_url"):
        url = _formatted_url(data[name])
        if not _valid_url(url):
            raise ValueError(f"The {url} is not a valid URL")
    if not _formatted_url(data["callback_url"]).lower().startswith("https://"):
        raise ValueError("The callback_url needs to be over SSL")
    return data


def _post(url: str, raw: bytes, headers: dict[str, str], timeout: float) -> int | None:
    try:
        return requests.post(url, data=raw, headers=headers, timeout=timeout, allow_redirects=False).status_code
    except requests.RequestException:
        return None


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost valid for a day, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    fake: WooCommerceFake
    protocol_version = "HTTP/1.1"

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            status, headers, payload = self.fake.handle(method, self.path, self.headers, body)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must reach the test, not hang the client
            status, headers = 500, {"Content-Type": "application/json"}
            payload = json.dumps({"code": "fake_crashed", "message": repr(exc), "data": {"status": 500}}).encode()
            self.fake.crashes.append(f"{method} {self.path}: {exc!r}")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass
