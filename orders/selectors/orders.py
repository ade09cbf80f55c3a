"""Reads of orders: the filtered list (keyset-paginated, a fixed number of queries per page) and one order."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Merchant
from core.errors import NotFound, ValidationFailed
from orders.channels import channel_slugs, channels
from orders.models import Order, OrderEvent, OrderLine, OrderStatus, OrderTag, Shipment, ShipmentLine


@dataclass(frozen=True)
class OrderFilters:
    status: str = ""
    channel: str = ""
    integration: int | None = None
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

        def get(name: str) -> str:
            return (params.get(name) or "").strip()

        def flag(name: str) -> bool | None:
            value = get(name).lower()
            if value in ("", "any"):
                return None
            if value in ("1", "true", "yes", "on"):
                return True
            if value in ("0", "false", "no", "off"):
                return False
            raise ValidationFailed(f"{name} must be true or false.", details={"field": name})

        def day(name: str) -> date | None:
            value = get(name)
            if not value:
                return None
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                raise ValidationFailed(f"{name} must be a date (YYYY-MM-DD).", details={"field": name})

        status, channel = get("status"), get("channel")
        if status and status not in OrderStatus.values:
            raise ValidationFailed("Unknown status.", details={"field": "status", "allowed": OrderStatus.values})
        if channel and channel not in channels:
            raise ValidationFailed("Unknown channel.", details={"field": "channel", "allowed": channel_slugs()})
        integration = get("integration")
        if integration and not integration.isdigit():
            raise ValidationFailed("integration must be an id.", details={"field": "integration"})
        return cls(
            status=status, channel=channel, integration=int(integration) if integration else None,
            placed_from=day("placed_from") or day("from"), placed_to=day("placed_to") or day("to"),
            sku=get("sku")[:128], tag=get("tag").lower()[:64], needs_attention=flag("needs_attention"),
            short=flag("short"), search=get("search")[:100],
        )

    def as_query(self) -> dict[str, str]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in (None, ""):
                out[f.name] = str(value).lower() if isinstance(value, bool) else str(value)
        return out


def _day_start(d: date, tz_name: str) -> datetime:
    """Midnight of the merchant's day (Merchant.timezone), as analytics counts days."""
    from orders.selectors.analytics import zone

    return timezone.make_aware(datetime.combine(d, time.min), zone(tz_name))


def order_filter(*, merchant: Merchant, filters: OrderFilters) -> QuerySet[Order]:
    """The filtered orders, without related rows: for counts, exports and bulk selection."""
    qs = Order.objects.filter(merchant=merchant)
    f = filters
    if f.status:
        qs = qs.filter(status=f.status)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.integration is not None:
        qs = qs.filter(integration_id=f.integration)
    if f.placed_from:
        qs = qs.filter(placed_at__gte=_day_start(f.placed_from, merchant.timezone))
    if f.placed_to:
        qs = qs.filter(placed_at__lt=_day_start(f.placed_to + timedelta(days=1), merchant.timezone))
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
        term = f.search
        q = Q(number__iexact=term) | Q(number__iexact=f"#{term.lstrip('#')}")
        if "@" in term:  # served by orders_order_email_idx (merchant, lower(customer_email))
            qs = qs.alias(email_l=Lower("customer_email"))
            q |= Q(email_l=term.lower())
        else:  # trigram indexes on PostgreSQL (migration 0002); a scan of the merchant's rows elsewhere
            q |= Q(number__icontains=term) | Q(customer_name__icontains=term) | Q(customer_email__icontains=term)
        qs = qs.filter(q)
    return qs


def order_list(*, merchant: Merchant, filters: OrderFilters | None = None) -> QuerySet[Order]:
    """The list: newest placed first, with lines and tags prefetched (3 queries per page, whatever its size)."""
    qs = order_filter(merchant=merchant, filters=filters or OrderFilters())
    return qs.order_by("-placed_at", "-id").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.filter(merchant=merchant).order_by("position", "id")),
        Prefetch("tag_rows", queryset=OrderTag.objects.filter(merchant=merchant).order_by("name")),
    )


def order_page(qs: QuerySet[Order], *, after: str = "", size: int = 50) -> tuple[list[Order], str]:
    """Keyset page for the dashboard: rows strictly after the cursor "<placed_at iso>|<id>", no OFFSET.

    Returns (rows, next cursor or "").
    """
    if after:
        try:
            stamp, pk = after.rsplit("|", 1)
            placed, pk_int = datetime.fromisoformat(stamp), int(pk)
        except ValueError:
            raise ValidationFailed("Bad page cursor.", details={"field": "after"})
        qs = qs.filter(Q(placed_at__lt=placed) | Q(placed_at=placed, pk__lt=pk_int))
    rows = list(qs[: size + 1])
    cursor = ""
    if len(rows) > size:
        rows = rows[:size]
        cursor = f"{rows[-1].placed_at.isoformat()}|{rows[-1].pk}"
    return rows, cursor


def order_get(*, merchant: Merchant, pk: int | str) -> Order:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound("No such order.")
    order = Order.objects.filter(merchant=merchant, pk=pk).order_by().first()
    if order is None:
        raise NotFound("No such order.")
    return order


def order_detail(*, merchant: Merchant, pk: int | str) -> Order:
    """One order with everything its page shows, prefetched."""
    order_get(merchant=merchant, pk=pk)
    return (
        Order.objects.filter(merchant=merchant, pk=int(pk))
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.filter(merchant=merchant).select_related("product")
                     .order_by("position", "id")),
            Prefetch("tag_rows", queryset=OrderTag.objects.filter(merchant=merchant)),
            Prefetch("shipments", queryset=Shipment.objects.filter(merchant=merchant).prefetch_related(
                Prefetch("lines", queryset=ShipmentLine.objects.filter(merchant=merchant).select_related("order_line"))
            )),
            Prefetch("events", queryset=OrderEvent.objects.filter(merchant=merchant).select_related("actor")
                     .order_by("id")),
        )
        .get()
    )


def order_line_get(*, merchant: Merchant, order: Order, pk: int | str) -> OrderLine:
    line = OrderLine.objects.filter(merchant=merchant, order=order, pk=int(pk)).first() if str(pk).isdigit() else None
    if line is None:
        raise NotFound("No such line.")
    return line


def shipment_get(*, merchant: Merchant, pk: int | str) -> Shipment:
    shipment = Shipment.objects.filter(merchant=merchant, pk=int(pk)).first() if str(pk).isdigit() else None
    if shipment is None:
        raise NotFound("No such shipment.")
    return shipment


def shipment_list(*, merchant: Merchant, order: Order | None = None) -> QuerySet[Shipment]:
    qs = Shipment.objects.filter(merchant=merchant)
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
        rows, after = order_page(base.prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.filter(merchant=merchant).order_by("position", "id")),
            Prefetch("tag_rows", queryset=OrderTag.objects.filter(merchant=merchant)),
        ), after=after, size=chunk)
        yield from rows
        if not after:
            return
