"""Analytics on edge cases: the merchant's own days, empty ranges, one order, p90 of few points."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from orders import selectors, services
from orders.models import Order
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db

LATE_EVENING_NY = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # 22:00 on 1 November in New York


def _new_york(merchant):
    merchant.timezone = "America/New_York"
    merchant.save(update_fields=["timezone"])


def test_revenue_counts_an_order_on_the_merchants_own_day(scope_a):
    # given a New York merchant with an order placed at 22:00 local on 1 November (3:00 UTC on the 2nd)
    m = scope_a.merchant
    _new_york(m)
    make_product(m, "A-1", on_hand=10)
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(placed_at=LATE_EVENING_NY))
    # when revenue is asked for 1 November, then for 2 November
    first = selectors.revenue_by_day(merchant=m, rng=selectors.DateRange(date(2026, 11, 1), date(2026, 11, 1)))
    second = selectors.revenue_by_day(merchant=m, rng=selectors.DateRange(date(2026, 11, 1) + timedelta(days=1),
                                                                           date(2026, 11, 2)))
    # then it counts on the 1st, under the 1st's date, and not on the 2nd
    assert (first["total_orders"], first["total_revenue"]) == (1, "20.00")
    assert first["days"] == [{"date": "2026-11-01", "channels": {"shopify": {"revenue": "20.00", "orders": 1}}}]
    assert (second["total_orders"], second["days"]) == (0, [{"date": "2026-11-02", "channels": {}}])


def test_an_unpaid_order_is_no_sale_until_it_is_paid(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=10)
    day = selectors.DateRange(date(2026, 11, 1), date(2026, 11, 1))
    placed = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    services.order_ingest(merchant=m, integration_id=None,
                          normalized=normalized(placed_at=placed, awaiting_payment=True))
    unpaid = (selectors.revenue_by_day(merchant=m, rng=day), selectors.top_skus(merchant=m, rng=day))

    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(placed_at=placed, updated_minutes=5))
    paid = selectors.revenue_by_day(merchant=m, rng=day)

    assert (unpaid[0]["total_orders"], unpaid[0]["total_revenue"]) == (0, "0.00")
    assert unpaid[1]["by_units"] == []
    assert (paid["total_orders"], paid["total_revenue"]) == (1, "20.00")


def test_list_date_filter_uses_the_merchants_day(merchant_a):
    # given the same New York order
    from accounts.tenancy import tenant_scope

    m = merchant_a.merchant
    with tenant_scope(m):
        _new_york(m)
        make_product(m, "A-1", on_hand=10)
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(placed_at=LATE_EVENING_NY)).order
    # when the API lists orders placed on 1 November, then on 2 November
    on_first = merchant_a.api.get("/api/v1/orders/?placed_from=2026-11-01&placed_to=2026-11-01")
    on_second = merchant_a.api.get("/api/v1/orders/?placed_from=2026-11-02&placed_to=2026-11-02")
    # then it is on the 1st only
    assert [o["id"] for o in on_first.json()["results"]] == [order.pk]
    assert on_second.json()["results"] == []


def test_fulfillment_time_with_no_one_and_two_orders(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=10)
    rng = selectors.DateRange(date(2026, 11, 1), date(2026, 11, 1))
    # given nothing shipped: no figures, not zeros
    assert selectors.fulfillment_time(merchant=m, rng=rng) == {
        "range": {"from": "2026-11-01", "to": "2026-11-01"}, "orders": 0, "average_hours": None, "p90_hours": None}
    # given one order shipped after 10 hours
    placed = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    o1 = services.order_ingest(merchant=m, integration_id=None, normalized=normalized("1", placed_at=placed)).order
    Order.objects.filter(merchant=m, pk=o1.pk).update(first_shipped_at=placed + timedelta(hours=10))
    one = selectors.fulfillment_time(merchant=m, rng=rng)
    assert (one["orders"], one["average_hours"], one["p90_hours"]) == (1, 10.0, 10.0)
    # given a second one shipped after 20 hours: p90 interpolates between the two (10 + 0.9 × 10)
    o2 = services.order_ingest(merchant=m, integration_id=None, normalized=normalized("2", placed_at=placed)).order
    Order.objects.filter(merchant=m, pk=o2.pk).update(first_shipped_at=placed + timedelta(hours=20))
    two = selectors.fulfillment_time(merchant=m, rng=rng)
    assert (two["orders"], two["average_hours"], two["p90_hours"]) == (2, 15.0, 19.0)


def test_empty_range_gives_zeros_for_every_day(scope_a):
    m = scope_a.merchant
    rng = selectors.DateRange(date(2026, 11, 1), date(2026, 11, 3))
    revenue = selectors.revenue_by_day(merchant=m, rng=rng)
    assert (revenue["total_revenue"], revenue["total_orders"], revenue["channels"]) == ("0.00", 0, [])
    assert [d["date"] for d in revenue["days"]] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert selectors.shipping_cost(merchant=m, rng=rng)["margin"] == "0.00"
    assert selectors.top_skus(merchant=m, rng=rng)["by_units"] == []
