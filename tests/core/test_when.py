"""One date-time format: `|when` writes the merchant's clock, the relative time only as a tooltip."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from accounts.tenancy import tenant_scope
from orders import services
from tests.orders.helpers import normalized


def _render(source: str, **context) -> str:
    return Template("{% load when %}" + source).render(Context(context))


def test_when_writes_the_absolute_time_in_the_current_zone_and_the_relative_one_as_title():
    moment = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    with timezone.override("Asia/Tokyo"):
        html = _render("{{ t|when }}", t=moment).replace("\xa0", " ")  # humanize's non-breaking spaces
        local = timezone.localtime(moment)

    assert html == (f'<time datetime="{local.isoformat()}" title="3 hours ago">'
                    f'{local.day} {local:%b %Y, %H:%M}</time>')
    assert local.isoformat().endswith("+09:00")


def test_when_date_shows_the_day_and_how_far_it_is():
    today = timezone.localdate()
    assert _render("{{ d|when_date }}", d=today - timedelta(days=3)) == (
        f'<time datetime="{(today - timedelta(days=3)).isoformat()}" title="3 days ago">'
        f'{(today - timedelta(days=3)).day} {today - timedelta(days=3):%b %Y}</time>')
    assert 'title="yesterday"' in _render("{{ d|when_date }}", d=today - timedelta(days=1))
    assert 'title="in 2 days"' in _render("{{ d|when_date }}", d=today + timedelta(days=2))


def test_empty_values_and_non_dates():
    assert _render("{{ t|when }}", t=None) == "—"
    assert _render('{{ t|when:"never" }}', t=None) == "never"
    assert _render("{{ t|when }}", t="<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    assert _render("{{ t|when }}", t=date(2026, 1, 2)).startswith('<time datetime="2026-01-02"')


@pytest.mark.django_db
def test_a_page_shows_the_order_time_in_the_merchants_zone(merchant_a):
    """Given a merchant in Tokyo and an order placed at 23:30 UTC, the page says the next day, 08:30."""
    merchant_a.merchant.timezone = "Asia/Tokyo"
    merchant_a.merchant.save(update_fields=["timezone"])
    with tenant_scope(merchant_a.merchant):
        order = services.order_ingest(merchant=merchant_a.merchant, integration_id=None, normalized=normalized(
            "tz-1", placed_at=datetime(2026, 11, 1, 23, 30, tzinfo=UTC))).order

    html = merchant_a.web.get(f"/orders/{order.pk}/").content.decode()

    stamps = re.findall(r'<time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', html)
    assert ("2026-11-02T08:30:00+09:00", stamps[0][1], "2 Nov 2026, 08:30") in stamps
    assert "ago" in stamps[0][1]


@pytest.mark.django_db
def test_the_api_keeps_utc(merchant_a):
    merchant_a.merchant.timezone = "Asia/Tokyo"
    merchant_a.merchant.save(update_fields=["timezone"])
    with tenant_scope(merchant_a.merchant):
        order = services.order_ingest(merchant=merchant_a.merchant, integration_id=None, normalized=normalized(
            "tz-2", placed_at=datetime(2026, 11, 1, 23, 30, tzinfo=UTC))).order

    body = merchant_a.api.get(f"/api/v1/orders/{order.pk}/").json()

    assert body["placed_at"] in ("2026-11-01T23:30:00Z", "2026-11-01T23:30:00+00:00")


FORBIDDEN = [
    (re.compile(r"\|\s*(naturaltime|naturalday|timesince|timeuntil)\b"), "relative time replacing the time"),
    (re.compile(r"(?<!value=\")\{\{[^}]*\|\s*date\b"), "a |date format of its own"),
    (re.compile(r"\{\{\s*[\w.]*_(at|on)\s*(\}\}|\|(?!\s*when))"), "a raw datetime"),
]


def test_templates_write_dates_only_through_when():
    """Every page template (emails are rendered outside a request, and date inputs need ISO values)
    writes a moment with |when or |when_date: a template added later is held to it too."""
    from pathlib import Path

    from django.conf import settings

    offenders = []
    for path in sorted(Path(settings.BASE_DIR, "templates").rglob("*.html")):
        if "notifications/email" in path.as_posix():
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            offenders += [f"{path.relative_to(settings.BASE_DIR)}:{number}: {why}: {line.strip()[:120]}"
                          for pattern, why in FORBIDDEN if pattern.search(line)]
    assert offenders == [], "\n".join(offenders)
