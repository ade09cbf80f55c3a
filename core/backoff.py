"""One backoff policy for everything that tries again: tasks, outboxes, webhook processing,
outbound calls.

Exponential with full jitter (a uniformly random delay between 0 and the exponential ceiling,
so a crowd of failed workers spreads out instead of retrying in waves), capped, and never
sooner than a server's `Retry-After`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.utils import timezone

BASE_SECONDS = 1.0
CAP_SECONDS = 300.0
# A Retry-After is honoured even beyond our own cap, up to this: a server that asks for a week
# is misconfigured, and a row must not vanish from the schedule for that long.
RETRY_AFTER_MAX_SECONDS = 6 * 3600.0
_MAX_EXPONENT = 62  # 2**62 seconds is far past any cap; keeps the float arithmetic finite


def backoff_delay(
    attempt: int,
    *,
    base: float = BASE_SECONDS,
    cap: float = CAP_SECONDS,
    retry_after: float | None = None,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry).

    Full jitter: uniform(0, min(cap, base * 2**(attempt-1))). A `retry_after` the server sent
    is a floor: the delay is never shorter than it (bounded by RETRY_AFTER_MAX_SECONDS).
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, _MAX_EXPONENT))
    delay = uniform(0.0, ceiling)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(float(retry_after), RETRY_AFTER_MAX_SECONDS))
    return delay


def backoff_until(
    attempt: int, *, base: float = BASE_SECONDS, cap: float = CAP_SECONDS, retry_after: float | None = None,
    now: datetime | None = None,
) -> datetime:
    """The moment a row that failed `attempt` times becomes due again (an outbox's next_attempt_at)."""
    seconds = backoff_delay(attempt, base=base, cap=cap, retry_after=retry_after)
    return (now or timezone.now()) + timedelta(seconds=seconds)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """A `Retry-After` header as seconds from now: delta-seconds or an HTTP-date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, (when - (now or timezone.now())).total_seconds())
