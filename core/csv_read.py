"""Reading CSV files as people really make them: the one place every import decodes and splits a file.

Excel writes a UTF-8 byte-order mark, and in much of Europe separates columns with semicolons (its
"CSV" follows the locale's list separator); "Unicode text" exports are UTF-16 with tabs. So the
encoding comes from the byte-order mark (UTF-8 without one) and the delimiter from the file itself:
one pass over a bounded sample counts each candidate outside double quotes per record, and the
candidate the header uses that splits the most records into as many fields as the header wins,
falling back to a comma (a one-column file has no delimiter at all). Not `csv.Sniffer`: its regular
expressions are quadratic in the sample (a 64 KB upload held a web worker for a minute).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator

from core.csv_stream import FORMULA_TRIGGERS

DELIMITERS = ",;\t"
SAMPLE_CHARS = 64 * 1024
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def csv_decode(raw: bytes | str) -> str:
    """Text of an uploaded file: UTF-16 when its byte-order mark says so, otherwise UTF-8 (a UTF-8
    byte-order mark is dropped). Raises UnicodeDecodeError for anything else (the caller says so)."""
    if isinstance(raw, str):
        return raw.lstrip("\ufeff")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def _record_counts(sample: str) -> list[Counter]:
    """Per record of `sample` (newlines inside double quotes belong to their record), how often each
    candidate delimiter appears outside quotes. One pass, constant work per character: a record without
    a quote is counted by `str.count`, one with quotes walked once with the quote state carried over."""
    records: list[Counter] = []
    counts: Counter = Counter()
    quoted = False
    for line in sample.split("\n"):
        if not quoted and '"' not in line:
            for d in DELIMITERS:
                counts[d] += line.count(d)
        else:
            for ch in line:
                if ch == '"':
                    quoted = not quoted
                elif not quoted and ch in DELIMITERS:
                    counts[ch] += 1
        if not quoted:
            records.append(+counts)
            counts = Counter()
    if counts or quoted:
        records.append(+counts)
    return records


def csv_delimiter(text: str) -> str:
    """The delimiter of a CSV text: comma, semicolon or tab, read from at most SAMPLE_CHARS of it."""
    sample = text[:SAMPLE_CHARS]
    if len(text) > SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only: a cut row would mislead the count
    records = _record_counts(sample.replace("\r", ""))
    if not records or not records[0]:
        return ","  # no header, or a header of one column: nothing to split on
    header, rows = records[0], records[1:]

    def score(d: str) -> tuple[int, int, int]:
        agreeing = sum(1 for r in rows if r[d] == header[d])
        return agreeing, header[d], -DELIMITERS.index(d)

    return max(header, key=score)


def csv_cell_text(cell: str) -> str:
    """A cell as it was before our CSV writer made it inert: `'=SUM(A1)` (a title exported, edited in a
    spreadsheet and imported again) is `=SUM(A1)` once more, so the round trip changes nothing."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] and cell[1] in FORMULA_TRIGGERS else cell


def csv_rows(raw: bytes | str) -> tuple[str, Iterator[list[str]]]:
    """(delimiter, rows) of an uploaded file, decoded, with its delimiter detected and the writer's
    formula guard taken off each cell (csv_cell_text); csv.Error is raised by the row it stops at."""
    text = csv_decode(raw)
    delimiter = csv_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return delimiter, ([csv_cell_text(c) for c in row] for row in reader)
