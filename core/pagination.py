"""Keyset pagination for dashboard lists and exports: one paginator, one cursor codec.

A page is the rows strictly after the last row of the previous page in the list's order, found by
a WHERE on the sort keys (which always end with the primary key), so page 10,000 costs what page 1
costs. The cursor is the last row's key values, JSON in URL-safe base64; decoding checks each value
against the type of its column, so a malformed or overflowing cursor is a 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Field, Model, Q, QuerySet

from core.errors import ValidationFailed
from core.parsing import MAX_BIGINT, parse_int

MAX_CURSOR_LENGTH = 2000
_INT_TYPES = {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
              "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField"}
_TEXT_TYPES = {"CharField", "TextField", "SlugField", "EmailField"}


@dataclass
class KeysetPage:
    rows: list[Any]
    next_cursor: str  # "" on the last page


def _bad(field: str) -> ValidationFailed:
    return ValidationFailed("Bad page cursor.", code="invalid_cursor", details={"field": field})


def key_field(qs: QuerySet, name: str) -> Field:
    """The field (or annotation's output field) a sort key `name` of `qs` compares."""
    if name == "pk":
        return qs.model._meta.pk
    if name in qs.query.annotations:
        return qs.query.annotations[name].output_field
    return qs.model._meta.get_field(name)


def key_value(field: Field, value: Any, *, param: str = "cursor") -> Any:
    """A cursor's value for `field`, checked: the right JSON type, within the column's range."""
    kind = field.get_internal_type()
    if kind in _INT_TYPES:
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_BIGINT:
            raise _bad(param)
        return value
    if kind in _TEXT_TYPES:
        if not isinstance(value, str) or "\x00" in value or len(value) > MAX_CURSOR_LENGTH:
            raise _bad(param)
        return value
    if kind == "DateTimeField":
        try:
            stamp = datetime.fromisoformat(value) if isinstance(value, str) and value.isascii() else None
        except ValueError:
            stamp = None
        if stamp is None or stamp.tzinfo is None:
            raise _bad(param)
        return stamp
    if kind == "DecimalField":
        try:
            number = Decimal(value) if isinstance(value, str) and value.isascii() else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise _bad(param)
        return number
    raise _bad(param)


def key_value_from_text(field: Field, text: str, *, param: str = "cursor") -> Any:
    """As key_value, for a cursor that carries every value as text (DRF's CursorPagination does)."""
    if field.get_internal_type() in _INT_TYPES:
        try:
            return parse_int(text, field=param)
        except ValidationFailed:
            raise _bad(param)
    return key_value(field, text, param=param)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(raw: str, *, fields: Sequence[Field], param: str = "after") -> list[Any]:
    """The key values in `raw`, one per field, each checked against its field; anything else is a 400."""
    if len(raw) > MAX_CURSOR_LENGTH or not raw.isascii():
        raise _bad(param)
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error):
        raise _bad(param)
    if not isinstance(values, list) or len(values) != len(fields):
        raise _bad(param)
    return [key_value(f, v, param=param) for f, v in zip(fields, values, strict=True)]


def keyset_page(qs: QuerySet, *, order: Sequence[str], after: str = "", size: int = 50,
                param: str = "after") -> KeysetPage:
    """Rows of `qs` in `order` (e.g. ["-placed_at", "-pk"]; the last key must be unique) strictly after
    the cursor `after`, at most `size` of them, and the cursor of the next page."""
    keys = [(name.lstrip("-"), name.startswith("-")) for name in order]
    if after:
        values = decode_cursor(after, fields=[key_field(qs, name) for name, _ in keys], param=param)
        condition = Q()
        for i, (name, desc) in enumerate(keys):
            step = Q(**{f"{name}__{'lt' if desc else 'gt'}": values[i]})
            for j, (prev_name, _) in enumerate(keys[:i]):
                step &= Q(**{prev_name: values[j]})
            condition |= step
        qs = qs.filter(condition)
    rows = list(qs.order_by(*order)[: size + 1])
    cursor = ""
    if len(rows) > size:
        rows = rows[:size]
        cursor = encode_cursor([_row_value(rows[-1], name) for name, _ in keys])
    return KeysetPage(rows=rows, next_cursor=cursor)


def _row_value(row: Model, name: str) -> Any:
    return row.pk if name == "pk" else getattr(row, name)
