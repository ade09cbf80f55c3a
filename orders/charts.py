"""Server-side SVG charts for the analytics page: no JavaScript library, no CDN.

Each function takes plain numbers and returns SVG markup (labels escaped) that templates put
inline; the charts scale with the page through the viewBox.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

FALLBACK = ["#1f4fd6", "#b42318", "#1c7c46", "#a15c00", "#5f6b7a"]


def _color(colours: dict[str, str] | None, name: str, i: int) -> str:
    return escape((colours or {}).get(name) or FALLBACK[i % len(FALLBACK)])


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def _fmt(v: float) -> str:
    if v >= 1000:
        return f"{v / 1000:.1f}k".replace(".0k", "k")
    return f"{v:.0f}" if v == int(v) else f"{v:.1f}"


def stacked_bars(*, labels: Sequence[str], series: dict[str, Sequence[float | Decimal]], title: str,
                 width: int = 960, height: int = 240, unit: str = "", names: dict[str, str] | None = None,
                 colours: dict[str, str] | None = None) -> SafeString:
    """Bars per label (e.g. day), stacked by series (e.g. channel), with a legend and a y axis.

    names and colours map a series key to its legend text and fill (the channel registry's label
    and colour); a key without one shows as itself, in a fallback colour by its place.
    """
    left, right, top, bottom = 48, 10, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(labels))
    totals = [sum(float(s[i]) for s in series.values()) for i in range(len(labels))]
    vmax = _nice_max(max(totals, default=0))
    bar_w = plot_w / n
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">',
             f"<title>{escape(title)}</title>"]
    for k in range(5):  # grid and y labels
        v = vmax * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e6ec"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5f6b7a">{_fmt(v)}</text>')
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
            tip.append(f"{escape((names or {}).get(name, name))}: {unit}{v:,.2f}".rstrip("0").rstrip("."))
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.76:.1f}" height="{h:.1f}" '
                         f'fill="{_color(colours, name, j)}"><title>{" · ".join(tip[:1] + tip[-1:])}</title></rect>')
        every = max(1, n // 10)
        if i % every == 0:
            parts.append(f'<text x="{left + i * bar_w + bar_w / 2:.1f}" y="{height - bottom + 14}" '
                         f'text-anchor="middle" fill="#5f6b7a">{escape(label)}</text>')
    lx = left
    for j, name in enumerate(series):
        shown = (names or {}).get(name, name)
        parts.append(f'<rect x="{lx}" y="8" width="10" height="10" fill="{_color(colours, name, j)}"/>'
                     f'<text x="{lx + 14}" y="17" fill="#1b2330">{escape(shown)}</text>')
        lx += 24 + 7 * len(shown)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label above is escaped


def horizontal_bars(*, items: Sequence[tuple[str, float | Decimal]], title: str, width: int = 420,
                    unit: str = "", color: str = "#1f4fd6") -> SafeString:
    """A ranked list as bars (top SKUs, age buckets)."""
    row, label_w, pad = 24, 130, 6
    height = max(1, len(items)) * row + 2 * pad
    vmax = max((float(v) for _, v in items), default=0) or 1
    bar_space = width - label_w - 70
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">',
             f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(items):
        y = pad + i * row
        w = bar_space * float(value) / vmax
        short = label if len(label) <= 18 else label[:17] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" fill="#1b2330">{escape(short)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row - 8}" rx="3" '
                     f'fill="{color}"><title>{escape(label)}: {unit}{value}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" fill="#5f6b7a">{unit}{escape(str(value))}</text>')
    if not items:
        parts.append(f'<text x="{width / 2}" y="{pad + 14}" text-anchor="middle" fill="#5f6b7a">No data</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label above is escaped
