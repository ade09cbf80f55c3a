"""Analytics of delivery: carrier exceptions per carrier, and on-time delivery against the promise a
bought label's rate made (the day shipped plus its delivery days, in the merchant's days)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from orders import selectors, services
from orders.models import OrderLine, Shipment
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


def shipped(merchant, number: str, *, carrier: str = "USPS", delivery_days: int | None = 2) -> Shipment:
    order = services.order_ingest(merchant=merchant, integration_id=None, normalized=normalized(number)).order
    line = OrderLine.objects.get(merchant=merchant, order=order)
    shipment = services.shipment_create(merchant=merchant, order=order, ship=False, lines=[
        services.ShipmentLineRequest(order_line_id=line.pk, quantity=line.quantity)])
    return services.shipment_mark_shipped(merchant=merchant, shipment=shipment, carrier=carrier,
                                          tracking_number=f"TRK{number}", delivery_days=delivery_days)


def moved(merchant, shipment: Shipment, *statuses_days: tuple[str, float]) -> None:
    for status, days in statuses_days:
        services.shipment_tracking_update(merchant=merchant, shipment=shipment, status=status,
                                          occurred_at=shipment.shipped_at + timedelta(days=days))


def this_month(merchant) -> selectors.DateRange:
    today = timezone.localdate()
    return selectors.DateRange(today - timedelta(days=20), today + timedelta(days=1), tz=merchant.timezone or "UTC")


def test_carrier_exceptions_count_every_parcel_that_had_one_per_carrier(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=100)
    recovered = shipped(m, "1")  # a problem, then delivered: still counted
    moved(m, recovered, ("in_transit", 0.1), ("exception", 1), ("delivered", 2))
    stuck = shipped(m, "2", carrier="UPS")
    moved(m, stuck, ("exception", 1))
    fine = shipped(m, "3")
    moved(m, fine, ("delivered", 1))
    shipped(m, "4", carrier="UPS", delivery_days=None)  # manual tracking, nothing heard

    report = selectors.carrier_exceptions(merchant=m, rng=this_month(m))

    assert (report["shipped"], report["exceptions"], report["exception_rate"]) == (4, 2, "50.0")
    assert report["carriers"] == [
        {"carrier": "UPS", "shipped": 2, "exceptions": 1, "in_exception_now": 1, "exception_rate": "50.0"},
        {"carrier": "USPS", "shipped": 2, "exceptions": 1, "in_exception_now": 0, "exception_rate": "50.0"}]
    earlier = selectors.DateRange(date(2020, 1, 1), date(2020, 1, 31))
    assert selectors.carrier_exceptions(merchant=m, rng=earlier)["shipped"] == 0
    assert selectors.carrier_exceptions(merchant=m, rng=earlier)["exception_rate"] is None


def test_on_time_delivery_against_the_rates_promise(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=100)
    moved(m, shipped(m, "1", delivery_days=2), ("delivered", 1.5))  # on time
    moved(m, shipped(m, "2", delivery_days=2), ("delivered", 4))  # two days late
    moved(m, shipped(m, "3", delivery_days=1), ("out_for_delivery", 0.5))  # not yet, still within its promise
    old = shipped(m, "4", delivery_days=3)  # shipped ten days ago, never delivered: overdue
    Shipment.objects.filter(pk=old.pk).update(shipped_at=timezone.now() - timedelta(days=10))
    shipped(m, "5", delivery_days=None)  # manual tracking: no promise, not counted

    report = selectors.on_time_delivery(merchant=m, rng=this_month(m))

    assert {k: report[k] for k in ("with_promise", "delivered", "on_time", "late", "in_transit", "overdue",
                                   "on_time_rate")} == {
        "with_promise": 4, "delivered": 2, "on_time": 1, "late": 1, "in_transit": 1, "overdue": 1,
        "on_time_rate": "50.0"}


def test_the_delivery_analytics_are_in_the_api_for_the_merchant_only(merchant_a, merchant_b):
    from accounts.tenancy import tenant_scope

    with tenant_scope(merchant_a.merchant):
        make_product(merchant_a.merchant, "A-1", on_hand=10)
        moved(merchant_a.merchant, shipped(merchant_a.merchant, "1"), ("exception", 1))

    mine = merchant_a.api.get("/api/v1/analytics/carrier-exceptions/").json()
    theirs = merchant_b.api.get("/api/v1/analytics/carrier-exceptions/").json()
    on_time = merchant_a.api.get("/api/v1/analytics/on-time-delivery/?from=2026-01-01&to=not-a-date")

    assert (mine["shipped"], mine["exceptions"]) == (1, 1)
    assert (theirs["shipped"], theirs["exceptions"]) == (0, 0)
    assert on_time.status_code == 400
    page = merchant_a.web.get("/orders/analytics/")
    assert page.status_code == 200
    assert b"Parcels with a carrier exception / shipped (100.0%)" in page.content
    assert b"Delivered on time (0 of 0 delivered; 0 overdue)" in page.content
