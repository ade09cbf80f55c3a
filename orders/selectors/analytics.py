"""Analytics over a date range, in the merchant's currency.

Money is summed only over orders in the merchant's currency (no exchange rates are kept);
orders in other currencies are counted separately in `other_currency_orders` so the figure is
honest about what it leaves out. Cancelled orders are excluded from revenue and top SKUs.
Days are the merchant's own (Merchant.timezone): an order placed at 22:00 in New York on the 1st
counts on the 1st, not on the 2nd as it would in UTC.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Merchant
from core.parsing import DateRange
from orders.channels import channel_slugs
from orders.models import Order, OrderEvent, OrderLine, OrderStatus, Shipment
from orders.selectors.orders import late_condition

CENT = Decimal("0.01")


def _money(value) -> str:
    """Sums come back as floats-in-disguise on SQLite; money is always shown to the cent."""
    return str(Decimal(str(value or 0)).quantize(CENT))


def _local(merchant: Merchant, rng: DateRange) -> DateRange:
    """The range in the merchant's own days, whoever built it."""
    return replace(rng, tz=merchant.timezone or "UTC")


# Not sales: cancelled, or never paid (an unpaid order is counted once it is paid, as the channels' own
# analytics leave pending and failed orders out).
NOT_SOLD = (OrderStatus.CANCELLED, OrderStatus.AWAITING_PAYMENT)


def _orders(merchant: Merchant, rng: DateRange):
    return Order.objects.filter(merchant=merchant, placed_at__gte=rng.start_at, placed_at__lt=rng.end_at)


def revenue_by_day(*, merchant: Merchant, rng: DateRange) -> dict:
    """Revenue and order count per day per channel (cancelled and unpaid orders excluded)."""
    rng = _local(merchant, rng)
    qs = _orders(merchant, rng).exclude(status__in=NOT_SOLD)
    rows = (qs.filter(currency=merchant.currency).annotate(day=TruncDate("placed_at", tzinfo=rng.zone))
            .values("day", "channel").annotate(revenue=Sum("total_amount"), orders=Count("id")).order_by("day"))
    series: dict[str, dict[str, dict]] = {}
    for r in rows:
        series.setdefault(r["channel"], {})[r["day"].isoformat()] = {"revenue": r["revenue"], "orders": r["orders"]}
    days = [d.isoformat() for d in rng.days()]
    known = channel_slugs()  # registered channels in their order, then any whose package has gone
    channels = [c for c in known if c in series] + sorted(set(series) - set(known))
    out_days = []
    for d in days:
        entry = {"date": d, "channels": {}}
        for c in channels:
            v = series[c].get(d, {"revenue": Decimal("0.00"), "orders": 0})
            entry["channels"][c] = {"revenue": _money(v["revenue"]), "orders": v["orders"]}
        out_days.append(entry)
    totals = qs.filter(currency=merchant.currency).aggregate(revenue=Sum("total_amount"), orders=Count("id"))
    return {
        "range": rng.as_dict(), "currency": merchant.currency, "channels": channels, "days": out_days,
        "total_revenue": _money(totals["revenue"]), "total_orders": totals["orders"],
        "other_currency_orders": qs.exclude(currency=merchant.currency).count(),
    }


def top_skus(*, merchant: Merchant, rng: DateRange, limit: int = 10) -> dict:
    """Best sellers by units and by revenue (units sold less units cancelled)."""
    rng = _local(merchant, rng)
    base = (OrderLine.objects.filter(merchant=merchant, order__placed_at__gte=rng.start_at,
                                     order__placed_at__lt=rng.end_at, order__currency=merchant.currency)
            .exclude(order__status__in=NOT_SOLD)
            .values("sku")
            .annotate(units=Sum(F("quantity") - F("quantity_cancelled")),
                      revenue=Sum((F("quantity") - F("quantity_cancelled")) * F("unit_price_amount"))))

    def rows(order_by: str) -> list[dict]:
        return [{"sku": r["sku"], "units": r["units"] or 0, "revenue": _money(r["revenue"])}
                for r in base.order_by(order_by, "sku")[:limit]]

    return {"range": rng.as_dict(), "currency": merchant.currency, "by_units": rows("-units"),
            "by_revenue": rows("-revenue")}


def fulfillment_time(*, merchant: Merchant, rng: DateRange) -> dict:
    """Average and 90th percentile of the time from order placed to its first shipment, in hours."""
    rng = _local(merchant, rng)
    qs = _orders(merchant, rng).filter(first_shipped_at__isnull=False)
    n = qs.count()
    if not n:
        return {"range": rng.as_dict(), "orders": 0, "average_hours": None, "p90_hours": None}
    if connection.vendor == "postgresql":
        sql, params = qs.values("id").query.sql_with_params()
        with connection.cursor() as cur:
            took = "EXTRACT(EPOCH FROM (o.first_shipped_at - o.placed_at))"
            # `sql` is Django's own compiled subquery; every value in it is a bound parameter.
            query = f"SELECT AVG({took}), PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY {took}) FROM orders_order o WHERE o.id IN ({sql})"  # noqa: S608
            cur.execute(query, params)
            avg_s, p90_s = cur.fetchone()
        avg_s, p90_s = float(avg_s), float(p90_s)
    else:  # SQLite (make run): small data, compute in Python
        durations = sorted(
            d.total_seconds() for d in qs.annotate(
                took=ExpressionWrapper(F("first_shipped_at") - F("placed_at"), output_field=DurationField())
            ).values_list("took", flat=True)
        )
        avg_s = sum(durations) / len(durations)
        rank = 0.9 * (len(durations) - 1)
        lo, hi = math.floor(rank), math.ceil(rank)
        p90_s = durations[lo] + (durations[hi] - durations[lo]) * (rank - lo)
    return {"range": rng.as_dict(), "orders": n, "average_hours": round(avg_s / 3600, 2),
            "p90_hours": round(p90_s / 3600, 2)}


AGE_BUCKETS = (("under_1_day", 0, 1), ("1_to_2_days", 1, 2), ("2_to_3_days", 2, 3), ("over_3_days", 3, None))


def unfulfilled_by_age(*, merchant: Merchant, now: datetime | None = None) -> dict:
    """Open orders still waiting to ship, by how long they have waited (now, not the range), and how many
    of the open ones are late by the queue's and the home page's rule (late_condition)."""
    now = now or timezone.now()
    qs = Order.objects.filter(merchant=merchant, status__in=[OrderStatus.UNFULFILLED, OrderStatus.PARTIALLY_FULFILLED])
    buckets = []
    for name, lo, hi in AGE_BUCKETS:
        sub = qs.filter(placed_at__lte=now - timedelta(days=lo))
        if hi is not None:
            sub = sub.filter(placed_at__gt=now - timedelta(days=hi))
        buckets.append({"bucket": name, "orders": sub.count()})
    late = Order.objects.filter(late_condition(now), merchant=merchant).count()
    return {"as_of": now.isoformat(), "buckets": buckets, "late": late}


def shipping_cost(*, merchant: Merchant, rng: DateRange) -> dict:
    """Label spend against shipping charged to customers. Label spend stays 0 until labels are bought
    through Switchboard (the labels issue fills Shipment.label_cost_amount)."""
    rng = _local(merchant, rng)
    charged = (_orders(merchant, rng).filter(currency=merchant.currency).exclude(status__in=NOT_SOLD)
               .aggregate(v=Sum("shipping_amount"))["v"] or Decimal("0.00"))
    spend = (Shipment.objects.filter(merchant=merchant, order__placed_at__gte=rng.start_at,
                                     order__placed_at__lt=rng.end_at, order__currency=merchant.currency)
             .aggregate(v=Sum("label_cost_amount"))["v"] or Decimal("0.00"))
    charged, spend = Decimal(_money(charged)), Decimal(_money(spend))
    return {"range": rng.as_dict(), "currency": merchant.currency, "shipping_charged": str(charged),
            "label_spend": str(spend), "margin": str(charged - spend)}


def _shipped_in(merchant: Merchant, rng: DateRange):
    """The range's parcels: shipments that left on one of its days (manual tracking and bought labels)."""
    return Shipment.objects.filter(merchant=merchant, status=Shipment.Status.SHIPPED, shipped_at__gte=rng.start_at,
                                   shipped_at__lt=rng.end_at)


def _rate(part: int, whole: int) -> str | None:
    return str((Decimal(part * 100) / whole).quantize(Decimal("0.1"))) if whole else None


def carrier_exceptions(*, merchant: Merchant, rng: DateRange) -> dict:
    """Parcels shipped in the range that hit a delivery problem (a carrier's `exception`, whatever came
    after it: the tracking history on the order's timeline keeps it), per carrier, with the share."""
    rng = _local(merchant, rng)
    shipped = list(_shipped_in(merchant, rng).values_list("id", "carrier", "tracking_status"))
    with_exception = {int(s) for s in OrderEvent.objects.filter(
        merchant=merchant, kind=OrderEvent.Kind.TRACKING, data__to=Shipment.TrackingStatus.EXCEPTION,
        created_at__gte=rng.start_at).values_list("data__shipment", flat=True) if isinstance(s, int)}
    by_carrier: dict[str, dict[str, int]] = {}
    for pk, carrier, status in shipped:
        row = by_carrier.setdefault(carrier or "", {"shipped": 0, "exceptions": 0, "in_exception_now": 0})
        row["shipped"] += 1
        row["exceptions"] += pk in with_exception
        row["in_exception_now"] += status == Shipment.TrackingStatus.EXCEPTION
    carriers = [{"carrier": c, **v, "exception_rate": _rate(v["exceptions"], v["shipped"])}
                for c, v in sorted(by_carrier.items(), key=lambda kv: (-kv[1]["exceptions"], kv[0]))]
    total = sum(v["exceptions"] for v in by_carrier.values())
    return {"range": rng.as_dict(), "shipped": len(shipped), "exceptions": total,
            "exception_rate": _rate(total, len(shipped)), "carriers": carriers}


def on_time_delivery(*, merchant: Merchant, rng: DateRange) -> dict:
    """Parcels shipped in the range with a promise (a bought label's rate gave its delivery days), and
    whether each was delivered by it. The promise is the day it shipped plus those delivery days
    (calendar days, the merchant's own); on time means the carrier's delivered event fell on or before
    that day. Not delivered yet: `in_transit`, or `overdue` once the promised day has passed."""
    rng = _local(merchant, rng)
    today = timezone.localdate(timezone.now(), rng.zone)
    counts = {"with_promise": 0, "delivered": 0, "on_time": 0, "late": 0, "in_transit": 0, "overdue": 0}
    rows = _shipped_in(merchant, rng).filter(delivery_days__isnull=False).values_list(
        "shipped_at", "delivery_days", "tracking_status", "tracking_status_at")
    for shipped_at, days, status, status_at in rows:
        due = timezone.localdate(shipped_at, rng.zone) + timedelta(days=days)
        counts["with_promise"] += 1
        if status == Shipment.TrackingStatus.DELIVERED and status_at is not None:
            counts["delivered"] += 1
            counts["on_time" if timezone.localdate(status_at, rng.zone) <= due else "late"] += 1
        else:
            counts["overdue" if today > due else "in_transit"] += 1
    return {"range": rng.as_dict(), **counts, "on_time_rate": _rate(counts["on_time"], counts["delivered"]),
            "rule": "delivered on or before the day shipped plus the bought rate's delivery days"}


def short_orders(*, merchant: Merchant, rng: DateRange, limit: int = 20) -> dict:
    """Orders that went short of stock in the range, and how many are still short."""
    rng = _local(merchant, rng)
    qs = _orders(merchant, rng).filter(went_short_at__isnull=False)
    recent = qs.order_by("-placed_at", "-id")[:limit]
    return {
        "range": rng.as_dict(), "went_short": qs.count(), "still_short": qs.filter(is_short=True).count(),
        "orders": [{"id": o.pk, "number": o.number, "channel": o.channel, "status": o.status,
                    "is_short": o.is_short, "placed_at": o.placed_at.isoformat()} for o in recent],
    }
