"""The home page: what today needs, in a fixed handful of queries whatever the number of orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Merchant
from inventory import selectors as inventory_selectors
from jobs import selectors as job_selectors
from orders.channels import StoreAlert, store_alerts
from orders.models import Order
from orders.selectors.orders import OrderFilters, late_condition, tab_condition
from orders.selectors.queue import order_queue, queue_page, work_tab_counts
from orders.workflow import WORK

AGE_BUCKETS: tuple[tuple[str, str, int, int | None], ...] = (
    # key, label, from hours, to hours (exclusive; None: no end)
    ("age_today", "Placed in the last 24 hours", 0, 24),
    ("age_1_2", "1–2 days old", 24, 72),
    ("age_3", "3 days or older", 72, None),
)
NEXT_TO_SHIP = 8


@dataclass(frozen=True)
class HomeSummary:
    orders: dict[str, int]  # awaiting, late (in any tab), attention, short, on_hold, awaiting_payment, and the AGE_BUCKETS keys
    next_to_ship: list[Order]  # the awaiting orders due first (late ones lead)
    stock: dict[str, int]  # low, out
    stores: list[StoreAlert]
    jobs: dict[str, int]  # running, failed


def home_order_counts(*, merchant: Merchant, now: datetime) -> dict[str, int]:
    """Every order count of the home page in one aggregate (COUNT ... FILTER) over the work only (open or
    unpaid orders): each count is of orders still to pay, ship or decide, so history is never read."""
    awaiting = tab_condition("awaiting")
    ages = {}
    for key, _, start, end in AGE_BUCKETS:
        q = awaiting & Q(placed_at__lte=now - timedelta(hours=start))
        if end is not None:
            q &= Q(placed_at__gt=now - timedelta(hours=end))
        ages[key] = Count("pk", filter=q)
    return Order.objects.filter(merchant=merchant, status__in=WORK).order_by().aggregate(
        **work_tab_counts(),
        late=Count("pk", filter=late_condition(now)),  # every open order past its ship-by, whatever tab holds it
        **ages,
    )


def home_summary(*, merchant: Merchant) -> HomeSummary:
    now = timezone.now()
    queue = order_queue(merchant=merchant, filters=OrderFilters(tab="awaiting"), now=now)
    return HomeSummary(
        orders=home_order_counts(merchant=merchant, now=now),
        next_to_ship=queue_page(queue, sort="ship_by", size=NEXT_TO_SHIP).rows,
        stock=inventory_selectors.stock_alert_counts(merchant=merchant),
        stores=store_alerts(merchant),
        jobs=job_selectors.job_counts(merchant=merchant),
    )
