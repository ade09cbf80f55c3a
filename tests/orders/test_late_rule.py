"""One rule for "late" (orders.selectors.late_condition): the home page, the queue's late badge and count,
and analytics' ageing panel count the same orders on a mixed set, stuck ones included."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tenancy import tenant_scope
from orders import selectors, services
from orders.models import Order
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db

LATE = {"#late", "#late-unknown-sku", "#late-short", "#late-held", "#late-partly-shipped"}


def _mixed(m) -> None:
    """Every kind of order, each placed a week ago or just now; the names say which should count."""
    now = timezone.now()
    week_ago, hour_ago = now - timedelta(days=7), now - timedelta(hours=1)
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=100)
        make_product(m, "GONE", on_hand=0)

        def ingest(ext, sku="A-1", quantity=1, **kw):
            return services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
                ext, lines=(("L1", sku, quantity),), **kw)).order

        ingest("late", placed_at=week_ago)
        ingest("late-unknown-sku", "NOPE", placed_at=week_ago)
        ingest("late-short", "GONE", placed_at=week_ago)
        services.order_hold(merchant=m, order=ingest("late-held", placed_at=week_ago), reason="Address check")
        partly = ingest("late-partly-shipped", quantity=2, placed_at=week_ago)
        line = partly.lines.get()
        services.shipment_create(merchant=m, order=partly, lines=[services.ShipmentLineRequest(line.pk, 1)],
                                 carrier="UPS", tracking_number="1Z1", ship=True)
        services.order_fulfill_all(merchant=m, order=ingest("shipped-after-its-date", placed_at=week_ago),
                                   carrier="UPS", tracking_number="1Z2")
        services.order_cancel(merchant=m, order=ingest("cancelled", placed_at=week_ago), reason="Fraud")
        ingest("unpaid", placed_at=week_ago, awaiting_payment=True)
        ingest("not-due-yet", placed_at=hour_ago, ship_by=now + timedelta(days=2))
        ingest("unknown-sku-not-due", "NOPE", placed_at=hour_ago, ship_by=now + timedelta(days=2))
        ingest("promised-yesterday", placed_at=hour_ago, ship_by=now - timedelta(days=1))


def _number(html: str, pattern: str) -> int:
    match = re.search(pattern, html)
    assert match, pattern
    return int(match.group(1).replace(",", ""))


def test_home_queue_and_analytics_count_the_same_late_orders(merchant_a):
    m = merchant_a.merchant
    _mixed(m)
    expected = LATE | {"#promised-yesterday"}
    with tenant_scope(m):
        late_by_rule = {o.number for o in Order.objects.filter(selectors.late_condition(timezone.now()), merchant=m)}
        assert late_by_rule == expected
        assert {o.number for o in Order.objects.filter(merchant=m) if selectors.order_is_late(o)} == expected

    home = merchant_a.web.get("/").content.decode()
    queue = merchant_a.web.get("/orders/").content.decode()
    analytics = merchant_a.web.get("/orders/analytics/").content.decode()

    home_late = _number(home, r'data-home="late"[^>]*>[^<]*</a><span class="n[^"]*">([0-9,]+)<')
    queue_late = _number(queue, r'data-late="([0-9,]+)"')
    analytics_late = _number(analytics, r'data-analytics="late"[^>]*>[^<]*</a>: <span class="n[^"]*">([0-9,]+)<')
    assert home_late == queue_late == analytics_late == len(expected)
    # the late badge marks exactly those rows, and each page's link lists exactly those orders
    listed = merchant_a.web.get("/orders/?tab=all&sort=ship_by&per_page=100").content.decode()
    badged = set(re.findall(r'data-order="([^"]+)"(?:(?!data-order=).)*?badge-bad late', listed, re.S))
    assert badged == expected
    for page, marker in ((home, 'data-home="late"'), (analytics, 'data-analytics="late"')):
        href = re.search(rf'href="([^"]+)" {marker}', page).group(1).replace("&amp;", "&")
        assert set(re.findall(r'data-order="([^"]+)"', merchant_a.web.get(href).content.decode())) == expected


def test_an_order_stuck_past_its_ship_by_is_late_until_it_ships(merchant_a):
    m = merchant_a.merchant
    _mixed(m)
    with tenant_scope(m):
        stuck = Order.objects.get(merchant=m, number="#late-unknown-sku")
        assert stuck.needs_attention and selectors.order_is_late(stuck)
        before = selectors.unfulfilled_by_age(merchant=m)["late"]
        services.order_cancel(merchant=m, order=stuck, reason="Customer changed their mind")
        assert selectors.unfulfilled_by_age(merchant=m)["late"] == before - 1
