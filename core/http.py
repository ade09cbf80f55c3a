"""Outbound HTTP, done once: sessions with time-outs, one error family, retries with the shared backoff,
a token bucket per operation that every worker shares, and no way into a private network.

Every external client (a channel's integrations/channels/<slug>/client.py, next a carrier's
labels/carriers/<slug>/client.py) sends its requests through `HttpClient` and raises only `ExternalError`
subclasses, so the caller decides what to do from the class alone: `Throttled` and `Transient` recover by
waiting (they are retried here first, up to a cap), `AuthFailed` means the merchant must reconnect,
`Rejected` is a request that cannot succeed as sent (ours, or a URL we refuse to call) and is never retried.
It lives in core because channels and carriers both use it, and neither may import the other.

Budgets: `HttpClient(budget_key=..., budget=default, budgets={operation: Budget(rate, burst)})`. The
adapter names the key (Shopify: one integration; Amazon: one seller's plan, shared by its marketplaces)
and each operation its rate and burst; a bucket is `<budget_key>:<operation>`, in Redis when REDIS_URL
is set (every worker draws on it), in this process otherwise.

Private networks (see `url_check`): only https:// to hosts whose every address is public, unless the
host is listed in OUTBOUND_ALLOWED_PRIVATE_HOSTS (the tests' loopback fakes, a proxy of our own).
Redirects are never followed.

Log lines carry the method, the path (no query string), the status and the duration, never headers or
bodies: those hold access tokens, client secrets and customers' data.
"""


from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import redis
import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from core.backoff import backoff_delay, parse_retry_after
from core.metrics import UPSTREAM_THROTTLED

logger = logging.getLogger("core.http")


# ---------------------------------------------------------------- the error family


class ExternalError(Exception):
    """A call to an external API failed; `status` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Throttled(ExternalError):
    """The other side asked us to slow down; `retry_after` seconds (None when it did not say)."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Transient(ExternalError):
    """5xx, a time-out or a broken connection: the same request may succeed later."""


class AuthFailed(ExternalError):
    """401/403 or a refused token refresh: the credentials no longer work; the merchant must reconnect."""


class Rejected(ExternalError):
    """The other side refused what we sent (other 4xx, GraphQL errors), or we refused to send it (a private
    address, plain http://): retrying the same request cannot help."""


# ---------------------------------------------------------------- token bucket


class LocalBucketStore:
    """Token buckets in this process (development without Redis, as under `make run`). One store per
    process, so two clients of one integration still share one budget."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, stamp)

    def take(self, key: str, *, rate: float, burst: float, cost: float = 1.0, now: float | None = None) -> float:
        """Take `cost` tokens if they are there and return 0; otherwise take nothing and return the
        seconds until they will be."""
        now = time.time() if now is None else now
        with self._lock:
            tokens, stamp = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + max(0.0, now - stamp) * rate)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (cost - tokens) / rate


# KEYS[1] the bucket; ARGV rate, burst, cost, now. Returns the wait in milliseconds (0 = taken).
_TAKE_LUA = """
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local tokens = tonumber(state[1])
local stamp = tonumber(state[2])
if tokens == nil then tokens = burst; stamp = now end
local elapsed = now - stamp
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 60000)
return wait
"""


class RedisBucketStore:
    """Token buckets in Redis, read-refill-take in one Lua script, so every worker process draws on one
    budget per key and operation. Time is the caller's clock (workers' clocks agree to NTP
    precision, far finer than a bucket's refill)."""

    def __init__(self, url: str, *, prefix: str = "sb:bucket:") -> None:
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._script = self._redis.register_script(_TAKE_LUA)
        self._prefix = prefix

    def take(self, key: str, *, rate: float, burst: float, cost: float = 1.0, now: float | None = None) -> float:
        now = time.time() if now is None else now
        wait_ms = self._script(keys=[self._prefix + key], args=[rate, burst, cost, repr(now)])
        return int(wait_ms) / 1000.0


_local_store = LocalBucketStore()
_redis_stores: dict[str, RedisBucketStore] = {}
_stores_lock = threading.Lock()


def bucket_store() -> LocalBucketStore | RedisBucketStore:
    """Redis when settings.REDIS_URL is set (every worker shares the budget), in-process otherwise."""
    url = getattr(settings, "REDIS_URL", None)
    if not url:
        return _local_store
    with _stores_lock:
        if url not in _redis_stores:
            _redis_stores[url] = RedisBucketStore(url)
        return _redis_stores[url]


@dataclass(frozen=True)
class Budget:
    """Requests per second and the burst an API allows one account for one operation."""

    rate: float
    burst: float


# ---------------------------------------------------------------- private networks


def allowed_private_hosts() -> frozenset[str]:
    """OUTBOUND_ALLOWED_PRIVATE_HOSTS, lower-cased: hosts we may call although they resolve to a private
    address or speak plain http:// (the tests' loopback fakes, a proxy of our own). Read on every call,
    so a settings override counts at once."""
    value = getattr(settings, "OUTBOUND_ALLOWED_PRIVATE_HOSTS", ()) or ()
    if isinstance(value, str):
        value = value.split(",")
    return frozenset(host.strip().strip("[]").lower() for host in value if host and host.strip())


def address_refusal(address: str) -> str | None:
    """Why we never connect to `address` (an IP literal), or None when it is a public unicast address.

    An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as the IPv4 address it carries, and so
    are 6to4 and Teredo addresses that embed a private one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and (reason := address_refusal(str(embedded))):
            return reason
    for reason, hit in (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback),
                        ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                        ("reserved", ip.is_reserved), ("private", ip.is_private)):
        if hit:
            return reason
    if not ip.is_global:  # shared address space (100.64/10), documentation ranges and the like
        return "not public"
    return None


def _resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _checked_addresses(host: str, port: int) -> list[str]:
    """The addresses of `host` we may connect to; raises Rejected when any of them is not public (a name
    that answers with one public and one private address is refused whole: which one a connection would
    take is the resolver's choice, not ours). DNS failures propagate as socket.gaierror."""
    addresses = _resolve(host, port)
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            raise Rejected(f"{host} resolves to a {reason} address ({address}); we do not call private networks")
    if not addresses:
        raise socket.gaierror(f"{host} resolves to no address")
    return addresses


@dataclass(frozen=True)
class CheckedUrl:
    """A URL `url_check` accepted: its parts, and the addresses its host resolved to when checked."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]  # empty for an allowed private host (not checked)


def _split(url: str) -> tuple[SplitResult, str, int]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise Rejected(f"{url!r} is not a valid URL") from exc
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise Rejected(f"{url!r} is not an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise Rejected("a URL must not carry a user name or password")
    return parts, host, port or (443 if parts.scheme == "https" else 80)


def url_check(url: str, *, resolve: bool = True) -> CheckedUrl:
    """Refuse (`Rejected`, with a message a merchant can read) a URL we must not call: not http(s), plain
    http://, or a host that resolves to a loopback, private, link-local (169.254.169.254, the cloud
    metadata service), multicast, reserved or unspecified address, IPv4 or IPv6; unless its host is in
    OUTBOUND_ALLOWED_PRIVATE_HOSTS.

    A form calls this on a merchant-typed store URL (WooCommerce) for an early, clear error; `HttpClient`
    calls it before every request, and the connection checks the address it actually dials again (see
    `GuardedAdapter`), so a name that re-resolves elsewhere later is still refused. `resolve=False`
    checks only the scheme, the host's form and IP literals (a form that must not wait on DNS).
    A name that does not resolve raises Rejected too (the store cannot be reached as typed).
    """
    parts, host, port = _split(url)
    if host in allowed_private_hosts():
        return CheckedUrl(url=url, scheme=parts.scheme, host=host, port=port, addresses=())
    if parts.scheme != "https":
        raise Rejected(f"{host}: plain http:// is refused; use https://")
    if not resolve:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return CheckedUrl(url=url, scheme=parts.scheme, host=host, port=port, addresses=())
    try:
        addresses = _checked_addresses(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise Rejected(f"{host} could not be resolved to an address") from exc
    return CheckedUrl(url=url, scheme=parts.scheme, host=host, port=port, addresses=tuple(addresses))


class _GuardedConnectionMixin:
    """Resolve, check and dial in one place: the socket goes to an address checked a moment before, by
    this very connection, so DNS rebinding (a name that answers public to `url_check` and 127.0.0.1 to the
    connection) finds nothing to exploit. `host` stays the name, so the Host header, SNI and certificate
    verification are those of the name, not of the address."""

    host: str
    port: int
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        name = self._dns_host
        if name.strip("[]").lower() in allowed_private_hosts():
            return super()._new_conn()  # type: ignore[misc]
        addresses = _checked_addresses(name.strip("[]"), self.port)
        last_error: BaseException | None = None
        for address in addresses:  # the checked addresses in the resolver's order, as create_connection would
            self._dns_host = address
            try:
                return super()._new_conn()  # type: ignore[misc]
            except OSError as exc:
                last_error = exc
            finally:
                self._dns_host = name
        assert last_error is not None  # noqa: S101 - addresses is never empty
        raise last_error


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse private addresses at connect time (see the mixin)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def guarded_session() -> requests.Session:
    """A session that cannot reach a private network. Environment proxies are ignored (`trust_env` off):
    a proxy would do the resolving, out of our sight."""
    session = requests.Session()
    session.trust_env = False
    guard = GuardedAdapter()
    session.mount("https://", guard)
    session.mount("http://", guard)
    return session


# ---------------------------------------------------------------- the client


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: Shopify sends decimal seconds ("1.5"), RFC 9110 integers or an HTTP-date."""
    if value:
        try:
            seconds = float(value.strip())
        except ValueError:
            return parse_retry_after(value)
        return max(0.0, seconds) if seconds == seconds else None  # NaN is no answer
    return None


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


class HttpClient:
    """One `requests.Session` for one external account's client.

    `request()` checks the URL (`url_check`), waits for the operation's budget, sends with connect/read
    time-outs and no redirects, maps failures to the error family and retries `Throttled`/`Transient`
    with core.backoff up to `max_attempts` in all; `sleep` and `clock` are parameters so a test with a
    manual clock moves time instead of waiting for it.

    `budget_key` is the adapter's name for the account whose limits apply; `budgets` maps an operation
    to its own `Budget`, and `budget` serves every operation not named there.
    """

    def __init__(
        self,
        *,
        budget_key: str,
        budget: Budget,
        budgets: Mapping[str, Budget] | None = None,
        timeout: tuple[float, float] | None = None,
        max_attempts: int | None = None,
        backoff_base: float | None = None,
        backoff_cap: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        store: LocalBucketStore | RedisBucketStore | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.budget_key = budget_key
        self.budget = budget
        self.budgets = dict(budgets or {})
        self.timeout = timeout or (_setting("CHANNEL_HTTP_CONNECT_TIMEOUT", 5.0),
                                   _setting("CHANNEL_HTTP_READ_TIMEOUT", 30.0))
        self.max_attempts = max_attempts or int(_setting("CHANNEL_HTTP_MAX_ATTEMPTS", 5))
        self.backoff_base = backoff_base if backoff_base is not None else _setting("CHANNEL_HTTP_BACKOFF_BASE", 1.0)
        self.backoff_cap = backoff_cap if backoff_cap is not None else _setting("CHANNEL_HTTP_BACKOFF_CAP", 60.0)
        self.sleep = sleep
        self.clock = clock
        self.store = store if store is not None else bucket_store()
        self.session = session or guarded_session()

    def budget_for(self, operation: str) -> Budget:
        return self.budgets.get(operation, self.budget)

    def wait_for_budget(self, operation: str, cost: float = 1.0) -> None:
        key = f"{self.budget_key}:{operation}"
        budget = self.budget_for(operation)
        while True:
            wait = self.store.take(key, rate=budget.rate, burst=budget.burst, cost=cost, now=self.clock())
            if wait <= 0:
                return
            self.sleep(wait)

    def request(self, method: str, url: str, *, operation: str, json: Any = None, data: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None) -> requests.Response:
        """The response of a successful (2xx) call; raises the error family otherwise."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self.send_once(method, url, operation=operation, json=json, data=data, headers=headers)
            except (Throttled, Transient) as error:
                if attempt >= self.max_attempts:
                    raise
                retry_after = error.retry_after if isinstance(error, Throttled) else None
                delay = backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_cap, retry_after=retry_after)
                logger.info("core.http.retry operation=%s attempt=%s error=%s status=%s delay=%.3f",
                            operation, attempt, type(error).__name__, error.status, delay)
                self.sleep(delay)

    def send_once(self, method: str, url: str, *, operation: str, json: Any = None,
                  data: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                  ) -> requests.Response:
        """One attempt, no retry: check, budget, send, classify."""
        path = urlsplit(url).path
        try:
            url_check(url, resolve=False)  # scheme and literals now; names are checked as they are dialled
        except Rejected:
            logger.warning("core.http.refused method=%s path=%s operation=%s", method, path, operation)
            raise
        self.wait_for_budget(operation)
        started = time.monotonic()
        try:
            response = self.session.request(method, url, json=json, data=data, headers=dict(headers or {}),
                                            timeout=self.timeout, allow_redirects=False)
        except Rejected:
            logger.warning("core.http.refused method=%s path=%s operation=%s", method, path, operation)
            raise
        except requests.Timeout as exc:
            self._log(method, path, None, started, operation)
            raise Transient(f"{method} {path} timed out") from exc
        except requests.ConnectionError as exc:
            self._log(method, path, None, started, operation)
            raise Transient(f"{method} {path}: connection failed") from exc
        except requests.RequestException as exc:
            self._log(method, path, None, started, operation)
            raise Transient(f"{method} {path}: {type(exc).__name__}") from exc
        self._log(method, path, response.status_code, started, operation)
        if response.status_code == 429:  # every 429 any vendor sends us passes here, retried or not
            UPSTREAM_THROTTLED.labels(host=urlsplit(url).hostname or "").inc()
        raise_for_status(response, f"{method} {path}")
        return response

    def _log(self, method: str, path: str, status: int | None, started: float, operation: str) -> None:
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        logger.info("core.http.call method=%s path=%s status=%s operation=%s duration_ms=%s",
                    method, path, status, operation, duration_ms, extra={
                        "method": method, "path": path, "status": status, "operation": operation,
                        "duration_ms": duration_ms})


def failure_words(label: str, exc: ExternalError, *, refused: str = "the credentials",
                  rejection_detail: bool = False) -> str:
    """The sentence a merchant reads when a channel's or carrier's call failed: the error family in words,
    never an HTTP status line. `refused` names what an AuthFailed refused; `rejection_detail` appends the
    outside party's own message to a Rejected (carriers' messages are written for people)."""
    if isinstance(exc, AuthFailed):
        return f"{label} refused {refused}."
    if isinstance(exc, Throttled):
        return f"{label} asked us to slow down; try again in a minute."
    if isinstance(exc, Transient):
        return f"{label} did not answer; try again in a moment."
    if isinstance(exc, Rejected):
        return f"{label}: {exc.message}" if rejection_detail else f"{label} refused the request."
    return f"{label} could not be reached."


def raise_for_status(response: requests.Response, what: str) -> None:
    """The error family for a non-success status; the body is not quoted (it may echo secrets). A redirect
    is `Rejected`: we never follow one (it could point anywhere, a private address included), and an API
    that moved is a configuration to fix, not a call to retry."""
    status = response.status_code
    if status < 300:
        return
    if status < 400:
        raise Rejected(f"{what}: {status} redirect, not followed", status=status)
    if status == 429:
        raise Throttled(f"{what}: 429 Too Many Requests", status=status,
                        retry_after=_retry_after_seconds(response.headers.get("Retry-After")))
    if status in (401, 403):
        raise AuthFailed(f"{what}: {status} the credentials were refused", status=status)
    if status >= 500:
        raise Transient(f"{what}: {status} server error", status=status)
    raise Rejected(f"{what}: {status} refused", status=status)
