"""Keeping an order's reservations equal to what it still needs, by difference.

Every line holds stock in inventory under its own reference ("order_line:<id>"). The target of a
line is what is still to ship (0 for unmatched SKUs and for cancelled or returned orders); this
module moves the reservation towards the target, releasing or reserving only the difference,
so running it twice does nothing the second time. Callers hold the order's row lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.models import Merchant
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from orders.models import Order, OrderEvent, OrderLine, OrderStatus

INACTIVE = (OrderStatus.CANCELLED, OrderStatus.RETURNED)


@dataclass
class ReconcileResult:
    reserved: int = 0
    released: int = 0
    attempted: bool = False  # whether anything was asked of inventory's reserve
    reserved_by_line: dict[int, int] = field(default_factory=dict)
    short_lines: list[dict[str, Any]] = field(default_factory=list)


def line_target(order: Order, line: OrderLine) -> int:
    """How many units this line should hold reserved right now."""
    if order.status in INACTIVE or line.product_id is None:
        return 0
    return max(0, line.quantity_outstanding)


def reservations_reconcile(
    *, merchant: Merchant, order: Order, lines: Sequence[OrderLine], actor=None, partial: bool = True
) -> ReconcileResult:
    """Release what is held beyond each target, reserve what is missing (partial for channel orders).

    partial=False is all-or-nothing (manual orders): inventory raises OutOfStock and the caller's
    transaction rolls everything back.
    """
    result = ReconcileResult()
    changed: list[OrderLine] = []
    requests: list[inventory_services.ReserveRequest] = []
    by_ref: dict[str, OrderLine] = {}
    for line in lines:
        target = line_target(order, line)
        if line.quantity_reserved > target:
            excess = line.quantity_reserved - target
            released = inventory_services.stock_release(
                merchant=merchant, reference=line.reference, quantity=excess, actor=actor
            )
            if released < excess:  # inventory held less than we thought: believe the ledger
                line.quantity_reserved = min(
                    target, inventory_selectors.stock_reserved_for(merchant=merchant, reference=line.reference)
                )
            else:
                line.quantity_reserved -= released
            result.released += released
            changed.append(line)
        elif line.quantity_reserved < target:
            requests.append(
                inventory_services.ReserveRequest(
                    product_id=line.product_id, quantity=target - line.quantity_reserved, reference=line.reference
                )
            )
            by_ref[line.reference] = line
    if requests:
        result.attempted = True
        # Lines matched in this transaction carry their Product: inventory need not read them again.
        known = {line.product_id: line.product for line in by_ref.values() if OrderLine.product.is_cached(line)}
        got = inventory_services.stock_reserve(
            merchant=merchant, requests=requests, actor=actor, partial=partial, products=known or None
        )
        for reference, units in got.items():
            line = by_ref.get(reference)
            if line is None or not units:
                continue
            line.quantity_reserved += units
            result.reserved += units
            result.reserved_by_line[line.pk] = units
            changed.append(line)
    if changed:
        _save_reserved(merchant, changed)
    for line in lines:
        if line.product_id is not None and line.quantity_short > 0 and order.status not in INACTIVE:
            result.short_lines.append({"line": line.pk, "sku": line.sku, "short": line.quantity_short})
    return result


def _save_reserved(merchant: Merchant, lines: Sequence[OrderLine]) -> None:
    """Write the lines' reserved counts. On PostgreSQL one UPDATE ... FROM unnest(): bulk_update's CASE
    expressions cost more Python than the whole statement costs PostgreSQL (a few ms per order ingested)."""
    now = timezone.now()
    unique = list({line.pk: line for line in lines}.values())
    for line in unique:
        line.updated_at = now
    if connection.vendor != "postgresql":
        OrderLine.objects.bulk_update(unique, ["quantity_reserved", "updated_at"])
        return
    table = OrderLine._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {table} AS l SET quantity_reserved = v.q, updated_at = %s "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::int[]) AS v(id, q) WHERE l.merchant_id = %s AND l.id = v.id",
            [now, [line.pk for line in unique], [line.quantity_reserved for line in unique], merchant.pk],
        )


def order_flags_refresh(*, order: Order, lines: Sequence[OrderLine]) -> list[str]:
    """Recompute is_short / needs_attention from the lines; returns the fields that changed."""
    active = order.status not in INACTIVE
    is_short = active and any(line.product_id is not None and line.quantity_short > 0 for line in lines)
    needs_attention = active and any(line.product_id is None and line.quantity_outstanding > 0 for line in lines)
    fields = []
    if is_short != order.is_short:
        order.is_short = is_short
        fields.append("is_short")
        if is_short and order.went_short_at is None:
            order.went_short_at = timezone.now()
            fields.append("went_short_at")
    if needs_attention != order.needs_attention:
        order.needs_attention = needs_attention
        fields.append("needs_attention")
    return fields


def reconcile_events(*, order: Order, result: ReconcileResult, actor=None, allocated: bool = False) -> list[OrderEvent]:
    """Timeline rows describing what a reconcile did (unsaved; callers bulk-create them)."""
    events = []
    if result.reserved:
        kind = OrderEvent.Kind.ALLOCATED if allocated else OrderEvent.Kind.RESERVED
        events.append(OrderEvent(merchant_id=order.merchant_id, order=order, kind=kind, actor=actor,
                                 message=f"{result.reserved} unit(s) reserved",
                                 data={"by_line": {str(k): v for k, v in result.reserved_by_line.items()}}))
    if result.released:
        events.append(OrderEvent(merchant_id=order.merchant_id, order=order, kind=OrderEvent.Kind.RELEASED,
                                 actor=actor, message=f"{result.released} unit(s) released"))
    if result.short_lines and result.attempted and not allocated:
        short = sum(s["short"] for s in result.short_lines)
        events.append(OrderEvent(merchant_id=order.merchant_id, order=order, kind=OrderEvent.Kind.SHORT, actor=actor,
                                 message=f"{short} unit(s) could not be reserved", data={"lines": result.short_lines}))
    return events
