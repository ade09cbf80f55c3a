"""The shared cache (Redis in production) as a dependency a request may need: when it is down, an
operation that cannot run without it (a throttle, a rate limit) answers 503 in the error shape."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
