"""The shared backoff policy: exponential ceiling, full jitter, capped, Retry-After as a floor."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from core.backoff import RETRY_AFTER_MAX_SECONDS, backoff_delay, backoff_until, parse_retry_after


def _ceiling(attempt: int, **kwargs) -> float:
    """The largest delay the policy can pick: jitter drawn at its top."""
    return backoff_delay(attempt, uniform=lambda low, high: high, **kwargs)


def test_the_ceiling_doubles_per_attempt_from_the_base():
    assert [_ceiling(n, base=2.0, cap=1000.0) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 16.0, 32.0]


def test_the_ceiling_stops_at_the_cap_even_for_absurd_attempt_counts():
    assert [_ceiling(n, base=1.0, cap=60.0) for n in (6, 7, 50, 10_000)] == [32.0, 60.0, 60.0, 60.0]


def test_full_jitter_draws_between_zero_and_the_ceiling():
    draws: list[tuple[float, float]] = []

    def spy(low: float, high: float) -> float:
        draws.append((low, high))
        return (low + high) / 2

    assert backoff_delay(3, base=1.0, cap=300.0, uniform=spy) == 2.0
    assert draws == [(0.0, 4.0)]


def test_real_jitter_stays_in_range_and_spreads():
    random.seed(7)
    delays = [backoff_delay(4, base=1.0, cap=300.0) for _ in range(2000)]

    assert min(delays) >= 0.0 and max(delays) <= 8.0
    assert min(delays) < 1.0 and max(delays) > 7.0  # spread over the whole range, not clustered
    assert len({round(d, 3) for d in delays}) > 1500


def test_retry_after_is_a_floor_even_beyond_the_cap():
    assert backoff_delay(1, base=1.0, cap=10.0, retry_after=120.0, uniform=lambda low, high: high) == 120.0
    # a longer jittered delay wins over a short Retry-After
    assert backoff_delay(6, base=1.0, cap=300.0, retry_after=2.0, uniform=lambda low, high: high) == 32.0


def test_an_absurd_retry_after_is_bounded():
    assert backoff_delay(1, retry_after=30 * 86400.0, uniform=lambda low, high: 0.0) == RETRY_AFTER_MAX_SECONDS


def test_attempts_count_from_one():
    with pytest.raises(ValueError, match="from 1"):
        backoff_delay(0)


def test_backoff_until_is_now_plus_the_delay():
    now = datetime(2026, 1, 1, tzinfo=UTC)

    assert backoff_until(1, retry_after=90.0, now=now) == now + timedelta(seconds=90)


@pytest.mark.parametrize("header,expected", [
    ("120", 120.0),
    (" 0 ", 0.0),
    ("Thu, 01 Jan 2026 00:02:00 GMT", 120.0),
    ("Wed, 31 Dec 2025 23:00:00 GMT", 0.0),  # a date in the past: retry now
    ("", None),
    (None, None),
    ("-5", None),
    ("soon", None),
    ("１２", None),  # full-width digits are not delta-seconds
])
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header, now=datetime(2026, 1, 1, tzinfo=UTC)) == expected
