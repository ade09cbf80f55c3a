"""Outbound HTTP to channels, done once: sessions with time-outs, one error family, retries with the
shared backoff, and a token bucket every worker shares.

Every channel client (integrations/channels/<slug>/client.py) sends its requests through `HttpClient`
and raises only `ChannelError` subclasses, so the sync engine decides what to do from the class alone:
`Throttled` and `Transient` recover by waiting (they are retried here first, up to a cap), `AuthFailed`
means the merchant must reconnect, `Rejected` is our own mistake and is never retried.

It lives in integrations/ rather than core/ because only channel clients use it and it speaks their
vocabulary (a budget per integration and operation); the backoff policy it shares with the webhook inbox
and the outboxes is core.backoff.

Log lines carry the method, the path (no query string), the status and the duration, never headers or
bodies: those hold access tokens, client secrets and customers' data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from core.backoff import backoff_delay, parse_retry_after

logger = logging.getLogger("integrations.http")


# ---------------------------------------------------------------- the error family


class ChannelError(Exception):
    """A channel call failed; `status` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Throttled(ChannelError):
    """The channel asked us to slow down; `retry_after` seconds (None when it did not say)."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class Transient(ChannelError):
    """5xx, a time-out or a broken connection: the same request may succeed later."""


class AuthFailed(ChannelError):
    """401/403 or a refused token refresh: the credentials no longer work; the merchant must reconnect."""


class Rejected(ChannelError):
    """The channel refused what we sent (other 4xx, GraphQL errors): retrying the same request cannot help."""


# ---------------------------------------------------------------- token bucket


class LocalBucketStore:
    """Token buckets in this process (development without Redis, as under `make run`). One store per
    process, so two clients of one integration still share one budget."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, stamp)

    def take(self, key: str, *, rate: float, capacity: float, cost: float = 1.0, now: float | None = None) -> float:
        """Take `cost` tokens if they are there and return 0; otherwise take nothing and return the
        seconds until they will be."""
        now = time.time() if now is None else now
        with self._lock:
            tokens, stamp = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + max(0.0, now - stamp) * rate)
            if tokens >= cost:
                self._buckets[key] = (tokens - cost, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (cost - tokens) / rate


# KEYS[1] the bucket; ARGV rate, capacity, cost, now. Returns the wait in milliseconds (0 = taken).
_TAKE_LUA = """
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local tokens = tonumber(state[1])
local stamp = tonumber(state[2])
if tokens == nil then tokens = capacity; stamp = now end
local elapsed = now - stamp
if elapsed < 0 then elapsed = 0 end
tokens = math.min(capacity, tokens + elapsed * rate)
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 60000)
return wait
"""


class RedisBucketStore:
    """Token buckets in Redis, read-refill-take in one Lua script, so every worker process draws on one
    budget per integration and operation. Time is the caller's clock (workers' clocks agree to NTP
    precision, far finer than a bucket's refill)."""

    def __init__(self, url: str, *, prefix: str = "sb:bucket:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._script = self._redis.register_script(_TAKE_LUA)
        self._prefix = prefix

    def take(self, key: str, *, rate: float, capacity: float, cost: float = 1.0, now: float | None = None) -> float:
        now = time.time() if now is None else now
        wait_ms = self._script(keys=[self._prefix + key], args=[rate, capacity, cost, repr(now)])
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
    """Requests per second and the burst a channel allows one integration for one operation."""

    rate: float
    capacity: float


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
    """One `requests.Session` for one integration's client.

    `request()` waits for the budget, sends with connect/read time-outs, maps failures to the error family
    and retries `Throttled`/`Transient` with core.backoff up to `max_attempts` in all; `sleep` and `clock`
    are parameters so a test with a manual clock moves time instead of waiting for it.
    """

    def __init__(
        self,
        *,
        budget_key: str,
        budget: Budget,
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
        self.timeout = timeout or (_setting("CHANNEL_HTTP_CONNECT_TIMEOUT", 5.0),
                                   _setting("CHANNEL_HTTP_READ_TIMEOUT", 30.0))
        self.max_attempts = max_attempts or int(_setting("CHANNEL_HTTP_MAX_ATTEMPTS", 5))
        self.backoff_base = backoff_base if backoff_base is not None else _setting("CHANNEL_HTTP_BACKOFF_BASE", 1.0)
        self.backoff_cap = backoff_cap if backoff_cap is not None else _setting("CHANNEL_HTTP_BACKOFF_CAP", 60.0)
        self.sleep = sleep
        self.clock = clock
        self.store = store if store is not None else bucket_store()
        self.session = session or requests.Session()

    def wait_for_budget(self, operation: str, cost: float = 1.0) -> None:
        key = f"{self.budget_key}:{operation}"
        while True:
            wait = self.store.take(key, rate=self.budget.rate, capacity=self.budget.capacity, cost=cost,
                                   now=self.clock())
            if wait <= 0:
                return
            self.sleep(wait)

    def request(self, method: str, url: str, *, operation: str, json: Any = None, data: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None) -> requests.Response:
        """The response of a successful (2xx/3xx) call; raises the error family otherwise."""
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
                logger.info("integrations.http.retry operation=%s attempt=%s error=%s status=%s delay=%.3f",
                            operation, attempt, type(error).__name__, error.status, delay)
                self.sleep(delay)

    def send_once(self, method: str, url: str, *, operation: str, json: Any = None,
                  data: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                  ) -> requests.Response:
        """One attempt, no retry: budget, send, classify."""
        self.wait_for_budget(operation)
        path = urlsplit(url).path
        started = time.monotonic()
        try:
            response = self.session.request(method, url, json=json, data=data, headers=dict(headers or {}),
                                            timeout=self.timeout, allow_redirects=False)
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
        raise_for_status(response, f"{method} {path}")
        return response

    def _log(self, method: str, path: str, status: int | None, started: float, operation: str) -> None:
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        logger.info("integrations.http.call method=%s path=%s status=%s operation=%s duration_ms=%s",
                    method, path, status, operation, duration_ms, extra={
                        "method": method, "path": path, "status": status, "operation": operation,
                        "duration_ms": duration_ms})


def raise_for_status(response: requests.Response, what: str) -> None:
    """The error family for a non-success status; the body is not quoted (it may echo secrets)."""
    status = response.status_code
    if status < 400:
        return
    if status == 429:
        raise Throttled(f"{what}: 429 Too Many Requests", status=status,
                        retry_after=_retry_after_seconds(response.headers.get("Retry-After")))
    if status in (401, 403):
        raise AuthFailed(f"{what}: {status} the channel refused the credentials", status=status)
    if status >= 500:
        raise Transient(f"{what}: {status} server error", status=status)
    raise Rejected(f"{what}: {status} refused", status=status)
