"""The order list as a work queue: tab counts in one query, sortable columns, keyset pages per sort.

Every sort ends with the primary key in the same direction, so core.pagination's keyset pages stay
stable however many orders share a value (the same customer, the same total). The columns the list
shows beyond the order row (destination country, late, parcel weight) are annotations of the one
page query, never a query per row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import (
    BooleanField,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Merchant
from core.pagination import KeysetPage, keyset_page
from orders.models import Order, OrderLine, OrderTag
from orders.selectors.orders import (
    PAGE_WANT,
    QUEUE_TABS,
    OrderFilters,
    late_condition,
    order_filter,
    search_plan,
    tab_condition,
)
from orders.workflow import WORK

# Sort name → the column or annotation it orders by. "placed" is the default; "-x" is descending.
SORTS: dict[str, str] = {
    "placed": "placed_at", "ship_by": "ship_by_key", "number": "number", "customer": "customer_name",
    "total": "total_amount", "country": "dest_country",
}
SORT_LABELS: dict[str, str] = {
    "placed": "Placed", "ship_by": "Ship by", "number": "Order", "customer": "Customer", "total": "Total",
    "country": "Country",
}


@dataclass(frozen=True)
class TabCount:
    slug: str
    label: str
    count: int
    more: bool = False  # a history tab counted only up to HISTORY_COUNT_CAP: "10,000+"


# The work tabs (open orders: what is still to ship or decide) are counted exactly: that set stays small
# however long the merchant has traded. The history tabs (shipped, cancelled, all) grow forever, so they are
# counted only up to this many, never by reading every order the merchant ever had.
WORK_TABS = ("awaiting", "on_hold", "attention", "short", "awaiting_payment")
HISTORY_COUNT_CAP = 10_000


def default_sort(tab: str) -> str:
    """The queue is worked oldest first; history (shipped, cancelled, all) is read newest first."""
    return "placed" if tab in WORK_TABS else "-placed"


def parse_sort(value: str, *, tab: str) -> str:
    """A known sort name (optionally "-" for descending), else the tab's default: a stale link still works."""
    return value if value.lstrip("-") in SORTS and value.count("-") <= 1 else default_sort(tab)


def work_tab_counts() -> dict[str, Count]:
    """The work tabs' counts as aggregate expressions, for an aggregate over the work (open or unpaid orders:
    workflow.WORK) as the queue and the home page count it."""
    return {slug: Count("pk", filter=tab_condition(slug)) for slug in WORK_TABS}


def queue_counts(*, merchant: Merchant, filters: OrderFilters, now: datetime | None = None) -> tuple[list[TabCount], int]:
    """Each tab's count under the other filters, and how many open orders are late.

    The work tabs and the late count are one aggregate (COUNT ... FILTER) over open orders only, through
    the queue's partial index; each history tab is a count of at most HISTORY_COUNT_CAP + 1 rows. Four
    queries whatever the number of orders, none reading more than the open orders or the cap.

    With a search every count, the work tabs' and late's too, stops at SEARCH_COUNT_CAP + 1 matches ("1,000+";
    late then reads SEARCH_COUNT_CAP + 1): a term in every order must not make the open orders' aggregate
    test each of them (searched_counts).
    """
    if filters.search:
        return searched_counts(merchant=merchant, filters=filters, now=now)
    base = order_filter(merchant=merchant, filters=replace(filters, tab="", late=None)).order_by()
    work = base.filter(status__in=WORK).aggregate(
        **work_tab_counts(),
        late=Count("pk", filter=late_condition(now or timezone.now())),
    )
    tabs = []
    for slug, label in QUEUE_TABS:
        if slug in WORK_TABS:
            tabs.append(TabCount(slug, label, work[slug]))
            continue
        counted = base.filter(tab_condition(slug)).values("pk")[:HISTORY_COUNT_CAP + 1].count()
        tabs.append(TabCount(slug, label, min(counted, HISTORY_COUNT_CAP), more=counted > HISTORY_COUNT_CAP))
    return tabs, work["late"]


# A search's counts stop here (the queue shows "1,000+"): counting every order a common term matches would read
# them all, which is what the search's plan avoids for the page (orders.selectors.orders.search_plan).
SEARCH_COUNT_CAP = 1_000


def searched_counts(*, merchant: Merchant, filters: OrderFilters, now: datetime | None = None) -> tuple[list[TabCount], int]:
    """queue_counts under a search, each tab and late shown up to SEARCH_COUNT_CAP ("1,000+"; late then reads
    SEARCH_COUNT_CAP + 1). A term the trigram indexes answer matches few orders (search_plan chose them for
    that), so one aggregate over its matches counts every tab; a term matching many orders is counted per tab,
    each count stopping at SEARCH_COUNT_CAP + 1 matches along its tab's index."""
    want = SEARCH_COUNT_CAP + 1
    plan = search_plan(merchant=merchant, term=filters.search, want=want)
    base = order_filter(merchant=merchant, filters=replace(filters, tab="", late=None), want=want,
                        search_plan_name=plan).order_by()
    late = late_condition(now or timezone.now())
    if plan != "walk":  # few matches, or a short term's window of the newest orders: one aggregate
        found = base.aggregate(late=Count("pk", filter=late),
                               **{slug: Count("pk", filter=tab_condition(slug)) for slug, _ in QUEUE_TABS})
    else:
        def capped(qs: QuerySet[Order]) -> int:
            return qs.values("pk")[:want].count()

        found = {slug: capped(base.filter(tab_condition(slug))) for slug, _ in QUEUE_TABS}
        found["late"] = capped(base.filter(late))
    tabs = [TabCount(slug, label, min(found[slug], SEARCH_COUNT_CAP), more=found[slug] > SEARCH_COUNT_CAP)
            for slug, label in QUEUE_TABS]
    return tabs, min(found["late"], want)


def _parcel_weight() -> Subquery:
    """Grams still to ship in the order: Σ (ordered − cancelled) × the product's weight, over lines whose
    product has a weight (a line without one adds nothing)."""
    lines = (
        OrderLine.objects.filter(merchant_id=OuterRef("merchant_id"), order_id=OuterRef("pk"),
                                 product__weight_grams__isnull=False)
        .order_by().values("order_id")
        .annotate(grams=Sum((F("quantity") - F("quantity_cancelled")) * F("product__weight_grams")))
        .values("grams")[:1]
    )
    return Subquery(lines, output_field=IntegerField())


# Sorts no index of the merchant's orders ends in: a page in their order sorts every match, so a search sorted
# by one of them plans for every match (search_want), never a walk of the list's index that cannot stop early
# (a walk of 1,000,000 orders testing each: 43 s for "widget" by customer, against 4.4 s through the trigram union).
UNINDEXED_SORTS = ("customer", "total", "country")


def search_want(sort: str) -> int:
    """How many matches a page in `sort` order needs read (orders.selectors.orders.search_plan's `want`)."""
    return 10**9 if sort.lstrip("-") in UNINDEXED_SORTS else PAGE_WANT


def order_queue(*, merchant: Merchant, filters: OrderFilters, now: datetime | None = None,
                sort: str = "") -> QuerySet[Order]:
    """The filtered orders with the queue's columns annotated and lines and tags prefetched (3 queries a
    page, whatever its size). Order it with queue_page, in the `sort` given here (a search plans for it)."""
    return (
        order_filter(merchant=merchant, filters=filters, want=search_want(sort))
        .annotate(
            ship_by_key=Coalesce("ship_by_at", "placed_at"),
            dest_country=Coalesce(KeyTextTransform("country", "shipping_address"), Value(""),
                                  output_field=CharField()),
            is_late=ExpressionWrapper(late_condition(now or timezone.now()), output_field=BooleanField()),
            parcel_weight_grams=_parcel_weight(),
        )
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.filter(merchant=merchant).order_by("position", "id")),
            Prefetch("tag_rows", queryset=OrderTag.objects.filter(merchant=merchant).order_by("name")),
        )
    )


def sort_keys(sort: str) -> list[str]:
    """The keyset order of a sort name: its column, then the primary key, both in the sort's direction."""
    desc = "-" if sort.startswith("-") else ""
    return [f"{desc}{SORTS[sort.lstrip('-')]}", f"{desc}pk"]


def queue_page(qs: QuerySet[Order], *, sort: str, after: str = "", size: int = 50) -> KeysetPage:
    """A keyset page in `sort` order; a cursor that does not fit this sort is a 400 (bad_cursor)."""
    return keyset_page(qs, order=sort_keys(sort), after=after, size=size)
