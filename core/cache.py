"""The shared cache (Redis in production) as a dependency a request may need: when it is down, an
operation that cannot run without it (a throttle, a rate limit) answers 503 in the error shape. And its
backend (RedisCache), which reuses one redis-py client per connection pool."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import RedisError

from core.errors import ExternalServiceUnavailable

CACHE_RETRY_AFTER_SECONDS = 30


@contextmanager
def shared_cache_required(what: str) -> Iterator[None]:
    """Run a block that reads or writes the shared cache; if the cache cannot be reached, raise
    ExternalServiceUnavailable naming `what` could not be done (never a 500, never a pass: a limit we
    cannot count is not a limit we may skip)."""
    try:
        yield
    except (RedisError, ConnectionError) as exc:
        raise ExternalServiceUnavailable(f"{what} is unavailable for a moment; try again shortly.",
                                         code="cache_unavailable",
                                         retry_after=CACHE_RETRY_AFTER_SECONDS) from exc


class _ReusingClient(RedisCacheClient):
    """Django's Redis cache client builds a new `redis.Redis` for every cache call (`get_client`); constructing
    one (its ~170 response callbacks) cost more client CPU than the command itself, and the stock push's debounce
    (`cache.add`) runs once per stock change: a third of a one-statement reservation's Python time. A
    `redis.Redis` over a connection pool keeps no per-command state (each command borrows a connection from the
    pool, which redis-py resets in a forked child), so one per pool is as safe as one per call: the same reasoning
    as core.broker's for kombu."""

    def get_client(self, key=None, *, write=False):  # noqa: ANN001, ANN201 - Django's signature
        pool = self._get_connection_pool(write)
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    """django.core.cache.backends.redis.RedisCache with one client per pool (_ReusingClient); CACHES uses it."""

    def __init__(self, server, params) -> None:  # noqa: ANN001 - Django's signature
        super().__init__(server, params)
        self._class = _ReusingClient
