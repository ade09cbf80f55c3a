"""The analytics charts: counts have whole-number ticks; each per-day chart has a phone layout."""

from __future__ import annotations

import re

import pytest

from orders.charts import _ticks, stacked_bars


@pytest.mark.parametrize("top,expected", [
    (0, [0, 1]), (1, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (13, [0, 5, 10, 15]),
    (99, [0, 20, 40, 60, 80, 100]),
])
def test_count_axes_have_whole_ticks(top, expected):
    assert _ticks(top, whole=True) == expected


def test_money_axes_may_step_in_fractions():
    assert _ticks(0.7, whole=False) == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert _ticks(1234.5, whole=False) == [0, 250, 500, 750, 1000, 1250]


def _y_labels(svg: str) -> list[str]:
    return re.findall(r'<text x="\d+" y="[\d.]+" text-anchor="end" fill="#5f6b7a">([^<]+)</text>', svg)


def test_an_orders_chart_never_shows_half_an_order():
    """Given one order on one day of thirty (the case that drew 0.2, 0.4 ... before), every tick is whole."""
    labels = [f"11-{d:02d}" for d in range(1, 31)]
    svg = stacked_bars(labels=labels, series={"shopify": [0] * 29 + [1]}, title="Orders per day", whole=True)

    wide, narrow = svg.split("</svg>")[:2]
    assert _y_labels(wide) == ["0", "1"] and _y_labels(narrow) == ["0", "1"]


def test_the_phone_layout_is_narrow_with_fewer_day_labels():
    labels = [f"11-{d:02d}" for d in range(1, 31)]
    svg = stacked_bars(labels=labels, series={"shopify": list(range(30)), "amazon": [2] * 30}, title="Orders",
                       whole=True, names={"shopify": "Shopify", "amazon": "Amazon"})

    wide, narrow = svg.split("</svg>")[:2]
    assert 'class="chart chart-wide" viewBox="0 0 960 ' in wide
    assert 'class="chart chart-narrow" viewBox="0 0 360 ' in narrow
    day_labels = lambda s: re.findall(r'text-anchor="middle" fill="#5f6b7a">(11-\d\d)<', s)  # noqa: E731
    assert len(day_labels(wide)) == 10 and len(day_labels(narrow)) == 4
    assert len(_y_labels(narrow)) <= 5
