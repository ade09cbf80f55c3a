"""Reading CSV files as people really make them: the one place every import decodes and splits a file.

Excel writes a UTF-8 byte-order mark, and in much of Europe separates columns with semicolons (its
"CSV" follows the locale's list separator); "Unicode text" exports are UTF-16 with tabs. So the
encoding comes from the byte-order mark (UTF-8 without one) and the delimiter from the file itself:
`csv.Sniffer` on a sample, checked against the header row, falling back to a comma (a one-column
file has no delimiter at all).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator

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


def _header_counts(line: str) -> Counter:
    """How often each candidate delimiter appears in a line outside double quotes."""
    counts: Counter = Counter()
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in DELIMITERS:
            counts[ch] += 1
    return counts


def csv_delimiter(text: str) -> str:
    """The delimiter of a CSV text: comma, semicolon or tab."""
    sample = text[:SAMPLE_CHARS]
    if len(text) > SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only: a cut row would mislead the sniffer
    header = _header_counts(sample.split("\n", 1)[0])
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed is not None and (header[sniffed] or not header):
        return sniffed
    if header:  # the sniffer gave up or chose a character the header never uses: the header decides
        return header.most_common(1)[0][0]
    return ","


def csv_rows(raw: bytes | str) -> tuple[str, Iterator[list[str]]]:
    """(delimiter, csv.reader) over an uploaded file, decoded and with its delimiter detected."""
    text = csv_decode(raw)
    delimiter = csv_delimiter(text)
    return delimiter, csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
