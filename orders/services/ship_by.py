"""When an order should leave: the channel's promise when it makes one, else the merchant's default.

The default is `Merchant.default_ship_by_days` business days (Monday to Friday; no holiday calendar
yet) after the day the order was placed, counted in the merchant's time zone, and the deadline is the
end of that day there: an order placed on Friday afternoon with 2 days is due by Tuesday evening, not
48 hours later on Sunday. With 0 days the order ships the day it is placed, or the next business day
when it is placed at a weekend.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from core.parsing import zone

WEEKEND = (5, 6)  # Saturday, Sunday (date.weekday())
END_OF_DAY = time(23, 59, 59)


def business_day_after(day: date, days: int) -> date:
    """The `days`-th business day after `day` (Friday + 2 is Tuesday, Saturday + 2 is Tuesday too); with 0,
    `day` itself when it is a business day, else the Monday after."""
    left = max(0, days)
    while left:
        day += timedelta(days=1)
        if day.weekday() not in WEEKEND:
            left -= 1
    while day.weekday() in WEEKEND:
        day += timedelta(days=1)
    return day


def ship_by_default(*, placed_at: datetime, days: int, tz_name: str | None) -> datetime:
    """The end of the business day `days` business days after `placed_at`'s day in the zone `tz_name`.
    Pure (no database): the backfill migration calls it too."""
    tz = zone(tz_name)
    local_day = placed_at.astimezone(tz).date()
    return datetime.combine(business_day_after(local_day, days), END_OF_DAY, tzinfo=tz)


def ship_by_for(*, merchant, placed_at: datetime, promised: datetime | None = None) -> datetime:
    """The order's ship-by time: the channel's promise wins; otherwise the merchant's default."""
    if promised is not None:
        return promised
    return ship_by_default(placed_at=placed_at, days=merchant.default_ship_by_days, tz_name=merchant.timezone)
