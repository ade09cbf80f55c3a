"""Reads of orders: the filtered list (keyset-paginated, a fixed number of queries per page) and one order."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.db.models.lookups import Exact, IsNull
from django.utils import timezone

from accounts.models import Merchant
from core.errors import NotFound, ValidationFailed
from core.pagination import KeysetPage, keyset_page
from core.parsing import DateRange, optional_id, optional_text, parse_bool, parse_id
from orders.channels import MANUAL, channel_slugs, channels
from orders.models import Order, OrderEvent, OrderLine, OrderStatus, OrderTag, Shipment, ShipmentLine
from orders.selectors.tracking import shipments_with_tracking
from orders.workflow import INACTIVE, OPEN, SHIPPABLE

# The work queue's tabs (orders.selectors.queue counts them): the slug, its label, and which orders it holds.
# "Awaiting shipment" is what can go out now; an order short of stock or with an unknown SKU waits in its
# own tab until it can (an order may be in both of those); on hold is on hold whatever else is true.
# Orders not paid yet wait apart from all of them, in "Awaiting payment".
QUEUE_TABS: tuple[tuple[str, str], ...] = (
    ("awaiting", "Awaiting shipment"), ("on_hold", "On hold"), ("attention", "Needs attention"),
    ("short", "Short"), ("awaiting_payment", "Awaiting payment"), ("shipped", "Shipped"), ("cancelled", "Cancelled"),
    ("all", "All"),
)


def tab_condition(tab: str) -> Q:
    """Which orders a tab holds (an empty Q for "all" or no tab)."""
    shippable = Q(status__in=SHIPPABLE)
    return {
        "awaiting": shippable & Q(needs_attention=False, is_short=False),
        "on_hold": Q(status=OrderStatus.ON_HOLD),
        "awaiting_payment": Q(status=OrderStatus.AWAITING_PAYMENT),
        "attention": shippable & Q(needs_attention=True),
        "short": shippable & Q(is_short=True),
        "shipped": Q(status=OrderStatus.FULFILLED),
        "cancelled": Q(status=OrderStatus.CANCELLED),
    }.get(tab, Q())


def late_condition(now: datetime) -> Q:
    """The one rule for "late", read by the home page, the queue's badge and count, and analytics: past its
    ship-by time (the channel's promise, else the merchant's business days, orders.services.ship_by) and
    still to ship. On hold, an unknown SKU or short stock do not move the promise, so those count too."""
    return Q(status__in=OPEN, ship_by_at__lt=now)


def order_is_late(order: Order, *, now: datetime | None = None) -> bool:
    """late_condition for one loaded order (its page), in Python: the same rule, no query."""
    return order.status in OPEN and order.ship_by_at is not None and order.ship_by_at < (now or timezone.now())


# The parameters that are one filter under two names (core.parsing.filters_lenient drops them together).
ORDER_FILTER_ALIASES = {"from": ("from", "placed_from"), "placed_from": ("from", "placed_from"),
                        "to": ("to", "placed_to"), "placed_to": ("to", "placed_to")}


@dataclass(frozen=True)
class OrderFilters:
    tab: str = ""
    store: str = ""  # an integration id, or "manual" for orders typed in here (`integration`: the API's old name)
    late: bool | None = None
    status: str = ""
    channel: str = ""
    placed_from: date | None = None
    placed_to: date | None = None  # inclusive
    sku: str = ""
    tag: str = ""
    needs_attention: bool | None = None
    short: bool | None = None
    search: str = ""

    @classmethod
    def from_params(cls, params: Any) -> OrderFilters:
        """Parse query parameters (API or dashboard); bad values are a 400, never a silent 'all'."""
        status, channel = optional_text(params, "status"), optional_text(params, "channel")
        tab, store = optional_text(params, "tab"), optional_text(params, "store")
        tabs = [slug for slug, _ in QUEUE_TABS]
        if tab and tab not in tabs:
            raise ValidationFailed("Unknown tab.", details={"field": "tab", "allowed": tabs})
        if store and store != MANUAL:
            store = str(parse_id(store, field="store"))
        # One filter, one name: `store`. `integration` (an id) is what the API documented first, so a client
        # may still send it; it means the same store, and a different store under each name is a 400.
        integration = optional_id(params, "integration")
        if integration is not None:
            if store and store != str(integration):
                raise ValidationFailed("store and integration name different stores: give store only.",
                                       details={"field": "integration"})
            store = str(integration)
        if status and status not in OrderStatus.values:
            raise ValidationFailed("Unknown status.", details={"field": "status", "allowed": OrderStatus.values})
        if channel and channel not in channels:
            raise ValidationFailed("Unknown channel.", details={"field": "channel", "allowed": channel_slugs()})
        placed = DateRange.from_params(params, start=("placed_from", "from"), end=("placed_to", "to"),
                                       default_days=None, max_days=None)
        return cls(
            tab=tab, store=store, late=parse_bool(params.get("late"), field="late"),
            status=status, channel=channel,
            placed_from=placed.start, placed_to=placed.end,
            sku=optional_text(params, "sku")[:128], tag=optional_text(params, "tag").lower()[:64],
            needs_attention=parse_bool(params.get("needs_attention"), field="needs_attention"),
            short=parse_bool(params.get("short"), field="short"), search=optional_text(params, "search")[:100],
        )

    def as_query(self) -> dict[str, str]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in (None, ""):
                out[f.name] = str(value).lower() if isinstance(value, bool) else str(value)
        return out


# The order's own fields the queue's search reads: each matched partially and whatever the case (icontains),
# each served on PostgreSQL by a trigram GIN index on the exact expression icontains renders (orders
# migrations 0002 and 0012). City and postcode live in the shipping address (its key names, orders.addresses).
SEARCH_FIELDS = ("number", "external_id", "customer_name", "customer_email",
                 "shipping_address__city", "shipping_address__postal_code")
# The line fields it reads: an order with several matching lines is still one order (never a join).
SEARCH_LINE_FIELDS = ("sku", "title")


def _any_contains(fields: Iterable[str], term: str) -> Q:
    q = Q()
    for field in fields:
        q |= Q(**{f"{field}__icontains": term})
    return q


# A whole e-mail address (something@domain.tld): matched exactly, any case, through orders_order_email_idx
# (merchant, lower(customer_email)). Its trigrams ("@ex", "com", ...) are in nearly every order, so the
# trigram indexes would read every order to find one (183 ms against 0.2 ms at 1,000,000 orders).
FULL_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# pg_trgm finds no whole trigram in a term shorter than this, so its index cannot narrow such a search.
TRIGRAM_MIN = 3
# How many of the merchant's newest orders a rare term under TRIGRAM_MIN characters is looked for in.
SHORT_TERM_WINDOW = 10_000
# The rows a page of the list asks for (50 and the one that says there is a next page): what search_plan
# weighs a walk of the list's index against when nothing else is said.
PAGE_WANT = 51


def _plan_rows(qs: QuerySet) -> float:
    """PostgreSQL's estimate of the rows `qs` returns (EXPLAIN, planning only: no row is read)."""
    return float(json.loads(qs.order_by().explain(format="json"))[0]["Plan"]["Plan Rows"])


def search_plan(*, merchant: Merchant, term: str, want: int = PAGE_WANT) -> str:
    """How the search for `term` is answered when `want` matching orders are needed in the list's order:

    - "email": a whole e-mail address, matched exactly (any case) on the e-mail's btree index.
    - "trigram": the trigram indexes collect every matching order, which is then sorted: cheap when few match.
    - "walk": the list's own ordering index is walked newest first, each order tested, stopping after `want`:
      cheap when many match.
    - "window": a term under 3 characters that few orders contain: no trigram index can narrow it, so it is
      walked among the merchant's newest SHORT_TERM_WINDOW orders only (the queue says so).

    The trigram plan reads the matches (f x N for a fraction f of the merchant's N orders); the walk reads
    about want / f orders. The walk is chosen when it reads fewer: f > sqrt(want / N). f and N are the
    planner's estimates from the expression statistics ANALYZE keeps for the trigram indexes (EXPLAIN only,
    no rows read), so "widget" in every title at 1,000,000 orders walks ~51 orders instead of sorting
    1,000,000 ids (4.4 s), and "ku-4242" reads its ~200 matches from the trigram index (BENCHMARKS.md)."""
    if FULL_EMAIL.match(term):
        return "email"
    if connection.vendor != "postgresql":
        return "walk"  # SQLite (make run) has no trigram index: a walk with a LIMIT is its best plan too
    orders = Order.objects.filter(merchant=merchant)
    lines = OrderLine.objects.filter(merchant=merchant)
    n_orders, n_lines = max(_plan_rows(orders), 1.0), max(_plan_rows(lines), 1.0)
    fraction = min(1.0, _plan_rows(orders.filter(_any_contains(SEARCH_FIELDS, term))) / n_orders
                   + _plan_rows(lines.filter(_any_contains(SEARCH_LINE_FIELDS, term))) / n_lines)
    if fraction * fraction * n_orders > want:
        return "walk"
    # A rare term under 3 characters: no index can find it, and a walk would test every order ("q" at
    # 1,000,000 orders: 19 s), so it looks through the newest SHORT_TERM_WINDOW orders only, and says so.
    return "trigram" if len(term) >= TRIGRAM_MIN else "window"


def search_condition(*, merchant: Merchant, term: str, want: int = PAGE_WANT, plan: str = "") -> Q:
    """Orders whose number, channel reference, customer name or e-mail, city, postcode, or one of whose
    lines' SKU or product title contains `term`, whatever the case; a whole e-mail address finds that
    customer's orders (exactly, any case). Written for the plan search_plan picks (`want`: how many
    matches the caller reads in the list's order, a page or a count's cap).

    "trigram" is `id IN (matching orders UNION the orders of matching lines)`, not `... OR EXISTS (lines)`:
    PostgreSQL cannot answer an OR with a correlated EXISTS from indexes, so that form reads every order of
    the merchant (200 ms at 20,000 orders, growing with them); the union reads only the trigram indexes'
    matches (1 ms), and IN lists each order once however many of its lines match (BENCHMARKS.md). "walk" is
    that OR form on purpose: tested order by order along the list's index, it stops after a page. `plan`:
    one search_plan already chose (the queue's counts), so it is not estimated again."""
    plan = plan or search_plan(merchant=merchant, term=term, want=want)
    if plan == "email":
        return Q(Exact(Lower("customer_email"), term.lower()))
    lines = OrderLine.objects.filter(_any_contains(SEARCH_LINE_FIELDS, term), merchant=merchant).order_by()
    window = Q()
    if plan == "window":  # the newest SHORT_TERM_WINDOW orders: placed no earlier than the last of them
        edge = (Order.objects.filter(merchant=merchant).order_by("-placed_at", "-id")
                .values_list("placed_at", flat=True)[SHORT_TERM_WINDOW - 1:SHORT_TERM_WINDOW].first())
        window = Q(placed_at__gte=edge) if edge is not None else Q()
    if plan in ("walk", "window"):
        # "has a matching line" as a scalar subquery (its first matching line IS NOT NULL), not EXISTS: an
        # EXISTS PostgreSQL may run as a hashed subplan, reading every matching line of the merchant before
        # the first order (222,200 lines for "SKU-1", 4.5 s); this one probes the order's own lines, per order.
        first_line = Subquery(lines.filter(order_id=OuterRef("pk")).values("pk")[:1])
        return window & (_any_contains(SEARCH_FIELDS, term) | Q(IsNull(first_line, False)))
    by_order = Order.objects.filter(_any_contains(SEARCH_FIELDS, term), merchant=merchant).order_by().values("pk")
    return Q(pk__in=by_order.union(lines.order_by().values("order_id")))


def order_filter(*, merchant: Merchant, filters: OrderFilters, want: int = PAGE_WANT,
                 search_plan_name: str = "") -> QuerySet[Order]:
    """The filtered orders, without related rows: for counts, exports and bulk selection. `want`: how many
    the caller reads in the list's order (a search plans for it: search_plan), or the plan it chose."""
    qs = Order.objects.filter(merchant=merchant)
    f = filters
    if f.tab:
        qs = qs.filter(tab_condition(f.tab))
    if f.store == MANUAL:
        qs = qs.filter(integration_id__isnull=True, channel=MANUAL)
    elif f.store:
        qs = qs.filter(integration_id=int(f.store))
    if f.late is not None:
        late = late_condition(timezone.now())
        qs = qs.filter(late if f.late else ~late)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    qs = DateRange(f.placed_from, f.placed_to, tz=merchant.timezone).filter(qs, "placed_at")
    if f.needs_attention is not None:
        qs = qs.filter(needs_attention=f.needs_attention)
    if f.short is not None:
        qs = qs.filter(is_short=f.short)
    if f.sku:  # served by orders_orderline_sku_idx (merchant, lower(sku))
        lines = OrderLine.objects.filter(merchant=merchant, order_id=OuterRef("pk")).alias(sku_l=Lower("sku"))
        qs = qs.filter(Exists(lines.filter(sku_l=f.sku.lower())))
    if f.tag:  # served by orders_ordertag_name_idx (merchant, name, order)
        qs = qs.filter(Exists(OrderTag.objects.filter(merchant=merchant, order_id=OuterRef("pk"), name=f.tag)))
    if f.search:
        qs = qs.filter(search_condition(merchant=merchant, term=f.search, want=want, plan=search_plan_name))
    return qs


def order_list(*, merchant: Merchant, filters: OrderFilters | None = None) -> QuerySet[Order]:
    """The list: newest placed first, with lines and tags prefetched (3 queries per page, whatever its size)."""
    qs = order_filter(merchant=merchant, filters=filters or OrderFilters())
    return qs.order_by("-placed_at", "-id").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.filter(merchant=merchant).order_by("position", "id")),
        Prefetch("tag_rows", queryset=OrderTag.objects.filter(merchant=merchant).order_by("name")),
    )


ORDER_LIST_KEYS = ("-placed_at", "-pk")


def order_page(qs: QuerySet[Order], *, after: str = "", size: int = 50) -> KeysetPage:
    """A keyset page of the list, newest placed first (no OFFSET); a bad cursor is a 400."""
    return keyset_page(qs, order=ORDER_LIST_KEYS, after=after, size=size)


def _pk(value: int | str) -> int:
    """An id from a path or a form: anything that is not one cannot name a row, so it is not found."""
    try:
        return parse_id(value, field="id")
    except ValidationFailed:
        raise NotFound("Not found.")


def order_get(*, merchant: Merchant, pk: int | str) -> Order:
    try:
        return Order.objects.filter(merchant=merchant).order_by().get(pk=_pk(pk))
    except Order.DoesNotExist:
        raise NotFound("No such order.")


def order_detail(*, merchant: Merchant, pk: int | str) -> Order:
    """One order with everything its page shows, prefetched."""
    order = order_get(merchant=merchant, pk=pk)
    return (
        Order.objects.filter(merchant=merchant, pk=order.pk)
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.filter(merchant=merchant).select_related("product")
                     .order_by("position", "id")),
            Prefetch("tag_rows", queryset=OrderTag.objects.filter(merchant=merchant)),
            Prefetch("shipments", queryset=shipments_with_tracking(Shipment.objects.filter(merchant=merchant))
                     .prefetch_related(Prefetch("lines", queryset=ShipmentLine.objects.filter(merchant=merchant)
                                                .select_related("order_line")))),
            Prefetch("events", queryset=OrderEvent.objects.filter(merchant=merchant).select_related("actor")
                     .order_by("id")),
        )
        .get()
    )


def order_line_get(*, merchant: Merchant, order: Order, pk: int | str) -> OrderLine:
    try:
        return OrderLine.objects.filter(merchant=merchant, order=order).order_by().get(pk=_pk(pk))
    except OrderLine.DoesNotExist:
        raise NotFound("No such line.")


def shipment_get(*, merchant: Merchant, pk: int | str) -> Shipment:
    try:
        return Shipment.objects.filter(merchant=merchant).order_by().get(pk=_pk(pk))
    except Shipment.DoesNotExist:
        raise NotFound("No such shipment.")


def shipment_list(*, merchant: Merchant, order: Order | None = None) -> QuerySet[Shipment]:
    qs = shipments_with_tracking(Shipment.objects.filter(merchant=merchant))
    if order is not None:
        qs = qs.filter(order=order)
    return qs.prefetch_related(
        Prefetch("lines", queryset=ShipmentLine.objects.filter(merchant=merchant).select_related("order_line"))
    ).order_by("-id")


def order_export_rows(*, merchant: Merchant, filters: OrderFilters, chunk: int = 2000):
    """Rows for the CSV export, read in keyset chunks so memory stays flat on a million orders."""
    base = order_filter(merchant=merchant, filters=filters).order_by("-placed_at", "-id")
    after = ""
    while True:
        page = order_page(base.prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.filter(merchant=merchant).order_by("position", "id")),
            Prefetch("tag_rows", queryset=OrderTag.objects.filter(merchant=merchant)),
        ), after=after, size=chunk)
        yield from page.rows
        after = page.next_cursor
        if not after:
            return


def order_ids_matching(*, merchant: Merchant, filters: OrderFilters, limit: int) -> list[int]:
    """The ids of every order the filters match (a bulk action's "all matching"), oldest first, at most
    `limit` of them: a caller asking for one more than it accepts learns the selection is too big."""
    return list(order_filter(merchant=merchant, filters=filters).order_by("placed_at", "id")
                .values_list("pk", flat=True)[:limit])


# The address columns of the per-line export, in order (phone first: couriers want it beside the name).
EXPORT_ADDRESS_FIELDS = ("phone", "name", "company", "line1", "line2", "city", "region", "postal_code", "country")


def order_line_export_rows(*, merchant: Merchant, filters: OrderFilters, chunk: int = 2000):
    """(order, line, address) for every line of the filtered orders, newest order first, lines in page
    order: the same keyset chunks as order_export_rows. `address` has every EXPORT_ADDRESS_FIELDS key
    (missing ones empty), whatever the channel stored."""
    for order in order_export_rows(merchant=merchant, filters=filters, chunk=chunk):
        stored = order.shipping_address if isinstance(order.shipping_address, dict) else {}
        address = {k: str(stored.get(k) or "") for k in EXPORT_ADDRESS_FIELDS}
        for line in order.lines.all():
            yield order, line, address


def customer_order_list(*, merchant: Merchant, integration_id: int, email: str = "",
                        external_ids: Iterable[str] = ()) -> QuerySet[Order]:
    """One store's orders of one customer (by the channel's order ids, or by e-mail through
    orders_order_email_idx): what a privacy request from the channel is about."""
    match = Q(external_id__in=[str(e) for e in external_ids if str(e)])
    qs = Order.objects.filter(merchant=merchant, integration_id=integration_id)
    if email.strip():
        qs = qs.alias(email_l=Lower("customer_email"))
        match |= Q(email_l=email.strip().lower())
    return qs.filter(match)


def store_units_waiting(*, merchant: Merchant, integration_id: int, sku: str, product_id: int | None = None) -> int:
    """Units a store's open orders still need and hold no stock for: lines waiting on `sku` (no product yet,
    case-insensitive) and, with `product_id`, that product's lines short of stock. What a store's own
    quantity already leaves out (the channel counts its unfulfilled orders as committed), so a product's
    opening stock adds them back before they are reserved."""
    sku = (sku or "").strip().lower()
    waiting = Q(product__isnull=True) & Q(sku_l=sku) if sku else Q(pk__in=[])
    if product_id is not None:
        waiting |= Q(product_id=product_id)
    rows = (OrderLine.objects.filter(merchant=merchant, order__integration_id=integration_id)
            .exclude(order__status__in=INACTIVE).alias(sku_l=Lower("sku")).filter(waiting)
            .values_list("quantity", "quantity_fulfilled", "quantity_cancelled", "quantity_reserved"))
    return sum(max(0, q - done - cancelled - reserved) for q, done, cancelled, reserved in rows)
