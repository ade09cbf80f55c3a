"""Request rates written as '<requests>/<period>' ('600/min'), as DRF and allauth write them. Pure (no
Django), so config.env can check a configured rate at start-up with the same parser the throttles use."""

from __future__ import annotations

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
           "d": 86400, "day": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """'600/min' → (600, 60): requests allowed per period of that many seconds."""
    count, _, period = rate.partition("/")
    if not count.strip().isdigit() or int(count) < 1 or period.strip().lower() not in PERIODS:
        raise ValueError(f"a rate is '<requests>/<period>' with a period of s, min, hour or day; got {rate!r}")
    return int(count), PERIODS[period.strip().lower()]
