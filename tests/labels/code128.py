"""A Code128 reader for tests: it reads the bars ReportLab drew on a PDF page (filled rectangles of the
barcode's height) back into text, checking the start code, the checksum and the stop pattern, so a test
proves the page carries a barcode a scanner would read as the order number."""

from __future__ import annotations

import re

from reportlab.graphics.barcode.code128 import _patterns

RECT = re.compile(rb"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re f")
BY_PATTERN = {pattern: value for value, pattern in _patterns.items()}


def _modules(widths: list[float], unit: float) -> list[int]:
    return [round(w / unit) for w in widths]


def read(content: bytes, *, bar_width: float, bar_height: float) -> str:
    bars = sorted((float(x), float(w)) for x, _y, w, h in RECT.findall(content) if abs(float(h) - bar_height) < 0.01)
    if not bars:
        raise ValueError("no barcode on the page")
    elements: list[int] = []
    for i, (x, w) in enumerate(bars):
        if i:
            gap = x - (bars[i - 1][0] + bars[i - 1][1])
            elements.append(round(gap / bar_width))
        elements.append(round(w / bar_width))
    letters = "".join((chr(ord("A") + n - 1) if i % 2 == 0 else chr(ord("a") + n - 1))
                      for i, n in enumerate(elements))
    values = []
    while len(letters) > 7:
        values.append(BY_PATTERN[letters[:6]])
        letters = letters[6:]
    if BY_PATTERN.get(letters) != 106 and BY_PATTERN.get(letters[:6]) != 106:
        raise ValueError("no stop pattern")
    start, *data, checksum = values
    if (start + sum(i * v for i, v in enumerate(data, start=1))) % 103 != checksum:
        raise ValueError("bad checksum")
    code = {104: "B", 105: "C", 103: "A"}[start]
    text = ""
    for v in data:
        if v == 99:
            code = "C"
        elif v == 100 and code != "B":
            code = "B"
        elif v == 101 and code != "A":
            code = "A"
        elif code == "C":
            text += f"{v:02d}"
        else:
            text += chr(v + 32)
    return text
