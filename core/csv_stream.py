"""Streamed CSV downloads: rows are written as they are produced, so memory stays flat.

The one CSV writer every export goes through. A cell a spreadsheet would run as a formula is
neutralised here (OWASP's CSV injection rule): a shopper named `=HYPERLINK("http://evil", "Click")`
must reach the merchant's spreadsheet as text, not as a link or a calculation.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

from django.http import StreamingHttpResponse

# What Excel, LibreOffice and Google Sheets start a formula (or a DDE call) with.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Inert despite their first character: a signed number ("-3", the stock-changes template's delta) and a
# phone number as couriers need it ("+44 20 7946 0000"): digits, spaces and punctuation cannot call a function.
_INERT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?|\+?[0-9(][0-9 ()./-]{2,39}")


class _Echo:
    """A file-like object that hands each written line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> Any:
    """A cell as it may safely be written: text starting with a formula trigger gets a leading single
    quote, which spreadsheets show as text. Numbers stay numbers (a negative quantity is data, not a
    formula: only strings are touched), and so do a signed number written as text and a phone
    number's leading plus."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _INERT.fullmatch(value):
        return "'" + value
    return value


def csv_streaming_response(rows: Iterable[list], *, filename: str,
                           content_type: str = "text/csv; charset=utf-8") -> StreamingHttpResponse:
    """`rows` is consumed after the view returns: a generator that reads tenant data must enter
    the merchant's scope itself (the middleware's scope has closed by then)."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow([csv_cell(c) for c in r]) for r in rows),
                                     content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
