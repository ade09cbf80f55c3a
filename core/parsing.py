"""Parse what a client sends, once, at the edge: ids, integers, text, dates, date ranges.

Every view and API endpoint reads its query parameters through these functions, so a bad value
is a 400 `validation_failed` in the error shape instead of a 500 deeper down. What they refuse:

- NUL characters (PostgreSQL cannot store or compare them: a NUL in a filter is a DataError);
- digits that are not ASCII: `"²".isdigit()` is True but `int("²")` fails, and `int("٣")` is 3,
  which no client means;
- numbers a database column cannot hold (a bigint overflows at 2**63), and dates whose day
  boundaries fall outside what `datetime` can represent in any time zone;
- anything malformed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from core.errors import ValidationFailed

MAX_BIGINT = 2**63 - 1
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)
MAX_RANGE_DAYS = 366

_ASCII_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"field": field})


def parse_text(value: Any, *, field: str, max_length: int | None = None) -> str:
    """Stripped text without NUL characters; longer than `max_length` is an error, not a silent cut."""
    text = "" if value is None else str(value).strip()
    if "\x00" in text:
        raise _fail(field, f"{field} must not contain NUL characters.")
    if max_length is not None and len(text) > max_length:
        raise _fail(field, f"{field} has at most {max_length} characters.")
    return text


def parse_int(value: Any, *, field: str, min_value: int = -MAX_BIGINT, max_value: int = MAX_BIGINT) -> int:
    """An integer written with ASCII digits, within [min_value, max_value] (a bigint by default)."""
    if isinstance(value, bool):
        raise _fail(field, f"{field} must be a whole number.")
    if isinstance(value, int):
        number = value
    else:
        text = parse_text(value, field=field)
        if not _ASCII_INT.fullmatch(text) or len(text) > 20:
            raise _fail(field, f"{field} must be a whole number.")
        number = int(text)
    if not min_value <= number <= max_value:
        raise _fail(field, f"{field} must be between {min_value} and {max_value}.")
    return number


def parse_id(value: Any, *, field: str) -> int:
    """A primary key: a positive bigint written with ASCII digits."""
    return parse_int(value, field=field, min_value=1)


def parse_bool(value: Any, *, field: str) -> bool | None:
    """"true"/"false" and their usual spellings; empty or "any" is None (no filter)."""
    text = parse_text(value, field=field).lower()
    if text in ("", "any"):
        return None
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise _fail(field, f"{field} must be true or false.")


def parse_date(value: Any, *, field: str) -> date:
    """A day as YYYY-MM-DD (a full ISO timestamp is cut to its day), between MIN_DATE and MAX_DATE."""
    text = parse_text(value, field=field)
    if len(text) > 10 and text[10] in "T ":
        text = text[:10]
    try:
        if not _ISO_DAY.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise _fail(field, f"{field} must be a date (YYYY-MM-DD).")
    if not MIN_DATE <= day <= MAX_DATE:
        raise _fail(field, f"{field} must be between {MIN_DATE} and {MAX_DATE}.")
    return day


def parse_decimal(value: Any, *, field: str) -> Decimal:
    """A finite number given as a JSON number or a decimal string, exactly as written: channels send both
    (a line's `price` may be a JSON number while the order's totals are strings). A float goes through its shortest
    repr (20.9 is 20.9, never 20.899999...), an int as it is; booleans, blanks, NaN and infinities are errors."""
    if isinstance(value, bool):
        raise _fail(field, f"{field} must be an amount.")
    try:
        if isinstance(value, Decimal):
            amount = value
        elif isinstance(value, int | float):
            amount = Decimal(repr(value))
        else:
            amount = Decimal(parse_text(value, field=field))
    except InvalidOperation:
        raise _fail(field, f"{field} must be an amount.")
    if not amount.is_finite():
        raise _fail(field, f"{field} must be an amount.")
    return amount


MONEY_MAX_DIGITS = 12  # orders.models.money(): DecimalField(max_digits=12, decimal_places=2)
MONEY_PLACES = 2


def parse_money(value: Any, *, field: str, max_digits: int = MONEY_MAX_DIGITS, places: int = MONEY_PLACES,
                allow_negative: bool = False) -> Decimal:
    """An amount that fits a money column: finite, at most `places` decimals, at most `max_digits`
    digits in all (PostgreSQL refuses a larger one with a numeric overflow, a 500 if unchecked)."""
    amount = parse_decimal(value, field=field)
    if amount < 0 and not allow_negative:
        raise _fail(field, f"{field} must not be negative.")
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise _fail(field, f"{field} has at most {places} decimal places.")
    limit = Decimal(10) ** (max_digits - places)
    if abs(amount) >= limit:
        raise _fail(field, f"{field} must be less than {limit:,}.")
    return amount


def get_param(params: Mapping[str, Any], names: str | Iterable[str]) -> tuple[str, str]:
    """(name, raw value) of the first of `names` that is present and not blank, else (first name, "")."""
    names = (names,) if isinstance(names, str) else tuple(names)
    for name in names:
        raw = params.get(name)
        if raw is not None and str(raw).strip():
            return name, str(raw)
    return names[0], ""


def optional_id(params: Mapping[str, Any], name: str) -> int | None:
    """The id in query parameter `name`, or None when it is absent or blank."""
    _, raw = get_param(params, name)
    return parse_id(raw, field=name) if raw else None


def optional_text(params: Mapping[str, Any], name: str, *, max_length: int | None = None) -> str:
    _, raw = get_param(params, name)
    return parse_text(raw, field=name, max_length=max_length)


F = TypeVar("F")


def filters_lenient(parse: Callable[[Any], F], params: Any, *, aliases: Mapping[str, Iterable[str]] | None = None) -> tuple[F, list[str]]:
    """A list page's filters: `parse(params)` with each bad value named and dropped, and every other filter
    still applied (ignoring them all would show rows the user filtered out, under filters that look
    applied). The API parses strictly instead (a bad value is a 400). `aliases` names the parameters that
    are one filter (`from` and `placed_from`), so dropping a bad one drops all of its spellings. Returns
    (filters, the problems in the user's words); `params` (a QueryDict or a dict) is not changed."""
    params, problems = params.copy(), []
    spellings = {name: tuple(names) for name, names in (aliases or {}).items()}
    for _ in range(len(params) + 1):
        try:
            return parse(params), problems
        except ValidationFailed as exc:
            problems.append(exc.message)
            field = exc.details.get("field")
            names = spellings.get(field, (field,))
            if not field or not any(n in params for n in names):
                break
            for name in names:
                params.pop(name, None)
    return parse({}), problems


def zone(name: str | None) -> ZoneInfo:
    """The merchant's zone (Merchant.timezone); an unknown name is UTC rather than an error."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_start(day: date, tz_name: str | None) -> datetime:
    """Midnight at the start of `day` in the merchant's zone, as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min), zone(tz_name))


@dataclass(frozen=True)
class DateRange:
    """Whole days of the merchant (Merchant.timezone), both ends inclusive; an open end is None."""

    start: date | None
    end: date | None  # inclusive
    tz: str = "UTC"

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any], *, tz: str = "UTC", start: str | Iterable[str] = "from",
        end: str | Iterable[str] = "to", default_days: int | None = 30, max_days: int | None = MAX_RANGE_DAYS,
    ) -> DateRange:
        """The one date-range parser. With `default_days` a missing end is today in the merchant's zone
        and a missing start is `default_days` before it; with None both ends may stay open."""
        start_name, start_raw = get_param(params, start)
        end_name, end_raw = get_param(params, end)
        first = parse_date(start_raw, field=start_name) if start_raw else None
        last = parse_date(end_raw, field=end_name) if end_raw else None
        if default_days is not None:
            last = last or timezone.localdate(timezone.now(), zone(tz))
            first = first or last - timedelta(days=default_days - 1)
        if first and last:
            if first > last:
                raise _fail(start_name, f"{start_name} must not be after {end_name}.")
            if max_days is not None and (last - first).days + 1 > max_days:
                raise _fail(start_name, f"At most {max_days} days at a time.")
        return cls(start=first, end=last, tz=tz)

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    @property
    def start_at(self) -> datetime | None:
        return day_start(self.start, self.tz) if self.start else None

    @property
    def end_at(self) -> datetime | None:  # exclusive
        return day_start(self.end + timedelta(days=1), self.tz) if self.end else None

    def filter(self, queryset, field: str):
        """`queryset` narrowed to rows whose datetime `field` falls on the range's days (open ends unbounded)."""
        if self.start_at:
            queryset = queryset.filter(**{f"{field}__gte": self.start_at})
        if self.end_at:
            queryset = queryset.filter(**{f"{field}__lt": self.end_at})
        return queryset

    def days(self) -> list[date]:
        """Every day of a closed range (analytics draws one bar per day)."""
        if self.start is None or self.end is None:
            raise ValueError("An open date range has no list of days.")
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def as_dict(self) -> dict[str, str | None]:
        return {"from": self.start.isoformat() if self.start else None,
                "to": self.end.isoformat() if self.end else None}
