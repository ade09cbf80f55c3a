"""Server-side SVG charts for the analytics page: no JavaScript library, no CDN.

Each function takes plain numbers and returns SVG markup (labels escaped) that templates put
inline; the charts scale with the page through the viewBox.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

FALLBACK = ["#1f4fd6", "#b42318", "#1c7c46", "#a15c00", "#5f6b7a"]


def _color(colours: dict[str, str] | None, name: str, i: int) -> str:
    return escape((colours or {}).get(name) or FALLBACK[i % len(FALLBACK)])


def _ticks(vmax: float, *, whole: bool, most: int = 5) -> list[float]:
    """Axis ticks from 0 past vmax in round steps (1, 2, 2.5, 5 × 10ⁿ), at most `most` intervals.

    whole: the axis counts things (orders, units), so every tick is a whole number.
    """
    if vmax <= 0:
        return [0, 1]
    exp = 10 ** math.floor(math.log10(vmax / most))
    step = 10 * exp
    for mult in (1, 2, 2.5, 5, 10):
        candidate = mult * exp
        if whole and (candidate < 1 or candidate != int(candidate)):
            continue
        if vmax / candidate <= most:
            step = candidate
            break
    if whole:
        step = max(1, round(step))
    return [round(step * k, 10) for k in range(math.ceil(vmax / step - 1e-9) + 1)]


def _fmt(v: float) -> str:
    if v >= 1000:
        return f"{v / 1000:.1f}k".replace(".0k", "k")
    return f"{v:.0f}" if v == int(v) else f"{v:.1f}"


def stacked_bars(*, labels: Sequence[str], series: dict[str, Sequence[float | Decimal]], title: str,
                 width: int = 960, height: int = 240, unit: str = "", names: dict[str, str] | None = None,
                 colours: dict[str, str] | None = None, whole: bool = False) -> SafeString:
    """Bars per label (e.g. day), stacked by series (e.g. channel), with a legend and a y axis.

    names and colours map a series key to its legend text and fill (the channel registry's label
    and colour); a key without one shows as itself, in a fallback colour by its place. whole=True
    for counts: the y axis then has whole-number ticks only. Drawn twice, for a laptop and for a
    phone (narrower, taller, fewer ticks so the text stays readable once scaled); the stylesheet
    shows one (.chart-wide / .chart-narrow).
    """
    wide = _stacked(labels=labels, series=series, title=title, width=width, height=height, names=names,
                    colours=colours, whole=whole, unit=unit, css="chart chart-wide", x_ticks=10, y_ticks=5, font=11)
    narrow = _stacked(labels=labels, series=series, title=title, width=360, height=260, names=names,
                      colours=colours, whole=whole, unit=unit, css="chart chart-narrow", x_ticks=4, y_ticks=4, font=12)
    return mark_safe(wide + narrow)  # noqa: S308 - _stacked escapes every label


def _stacked(*, labels: Sequence[str], series: dict[str, Sequence[float | Decimal]], title: str, width: int,
             height: int, names: dict[str, str] | None, colours: dict[str, str] | None, whole: bool, unit: str, css: str,
             x_ticks: int, y_ticks: int, font: int) -> str:
    names = names or {}
    legend_rows = _legend_rows([names.get(name, name) for name in series], width=width, font=font)
    left, right, top, bottom = 48, 10, 12 + 16 * len(legend_rows), 34
    height += top - 28
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(labels))
    totals = [sum(float(s[i]) for s in series.values()) for i in range(len(labels))]
    ticks = _ticks(max(totals, default=0), whole=whole, most=y_ticks)
    vmax = ticks[-1]
    bar_w = plot_w / n
    parts = [f'<svg class="{css}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="{font}">',
             f"<title>{escape(title)}</title>"]
    for v in ticks:  # grid and y labels
        y = top + plot_h - plot_h * v / vmax
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e6ec"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5f6b7a">{_fmt(v)}</text>')
    every = max(1, math.ceil(n / x_ticks))
    for i, label in enumerate(labels):
        x = left + i * bar_w + bar_w * 0.12
        y = top + plot_h
        tip = [f"{escape(label)}"]
        for j, (name, values) in enumerate(series.items()):
            v = float(values[i])
            if v <= 0:
                continue
            h = plot_h * v / vmax
            y -= h
            shown = f"{v:,.0f}" if whole else f"{v:,.2f}"
            tip.append(f"{escape(names.get(name, name))}: {escape(unit)}{shown}")
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.76:.1f}" height="{h:.1f}" '
                         f'fill="{_color(colours, name, j)}"><title>{" · ".join(tip[:1] + tip[-1:])}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{left + i * bar_w + bar_w / 2:.1f}" y="{height - bottom + 14}" '
                         f'text-anchor="middle" fill="#5f6b7a">{escape(label)}</text>')
    keys = iter(enumerate(series))
    for r, row in enumerate(legend_rows):
        lx = left
        for shown in row:
            j, name = next(keys)
            parts.append(f'<rect x="{lx}" y="{8 + 16 * r}" width="10" height="10" fill="{_color(colours, name, j)}"/>'
                         f'<text x="{lx + 14}" y="{17 + 16 * r}" fill="#1b2330">{escape(shown)}</text>')
            lx += _legend_width(shown, font)
    parts.append("</svg>")
    return "".join(parts)


def _legend_width(text: str, font: int) -> int:
    return 24 + int(0.62 * font * len(text))


def _legend_rows(shown: list[str], *, width: int, font: int) -> list[list[str]]:
    """The legend entries in rows that fit the chart's width."""
    rows: list[list[str]] = [[]]
    used = 48
    for text in shown:
        w = _legend_width(text, font)
        if rows[-1] and used + w > width:
            rows.append([])
            used = 48
        rows[-1].append(text)
        used += w
    return rows if rows[0] else []


def horizontal_bars(*, items: Sequence[tuple[str, float | Decimal]], title: str, width: int = 420,
                    unit: str = "", color: str = "#1f4fd6") -> SafeString:
    """A ranked list as bars (top SKUs, age buckets)."""
    row, label_w, pad = 24, 150, 6  # label_w holds 16 upper-case characters of a SKU at 12px
    height = max(1, len(items)) * row + 2 * pad
    vmax = max((float(v) for _, v in items), default=0) or 1
    bar_space = width - label_w - 70
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">',
             f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(items):
        y = pad + i * row
        w = bar_space * float(value) / vmax
        short = label if len(label) <= 17 else label[:16] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" fill="#1b2330">{escape(short)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row - 8}" rx="3" '
                     f'fill="{color}"><title>{escape(label)}: {unit}{value}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" fill="#5f6b7a">{unit}{escape(str(value))}</text>')
    if not items:
        parts.append(f'<text x="{width / 2}" y="{pad + 14}" text-anchor="middle" fill="#5f6b7a">No data</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label above is escaped
