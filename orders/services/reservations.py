"""Keeping an order's reservations equal to what it still needs, by difference.

Every line holds stock in inventory under its own reference ("order_line:<id>"). The target of a
line is what is still to ship (0 for unmatched SKUs and for cancelled or returned orders); this
module moves the reservation towards the target, releasing or reserving only the difference,
so running it twice does nothing the second time. Callers hold the order's row lock.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.models import Merchant
from inventory import services as inventory_services
from inventory.selectors import ProductInfo
from orders.models import Order, OrderEvent, OrderLine
from orders.workflow import HOLDS_NOTHING, INACTIVE


@dataclass
class ReconcileResult:
    reserved: int = 0
    released: int = 0
    attempted: bool = False  # whether anything was asked of inventory's reserve
    reserved_by_line: dict[int, int] = field(default_factory=dict)
    short_lines: list[dict[str, Any]] = field(default_factory=list)


def line_target(order: Order, line: OrderLine) -> int:
    """How many units this line should hold reserved right now (nothing while the order is over or unpaid)."""
    if order.status in HOLDS_NOTHING or line.product_id is None:
        return 0
    return max(0, line.quantity_outstanding)


def reservations_reconcile(
    *, merchant: Merchant, order: Order, lines: Sequence[OrderLine], actor=None, partial: bool = True,
    ships: Sequence[inventory_services.ShipRequest] = (), returns: Sequence[inventory_services.ReturnRequest] = (),
    note: str = "", save: bool = True, rehold: Collection[str] = (),
) -> ReconcileResult:
    """The order's whole stock work in one inventory call (one lock, in id order): ship and return what the
    caller asks, then hold each line's target, releasing the excess and reserving what is missing (partial
    for channel orders). Lines whose count already equals their target and that nothing shipped are left
    out, so a reconcile with nothing to do asks inventory nothing.

    partial=False is all-or-nothing (manual orders): inventory raises OutOfStock and the caller's
    transaction rolls everything back. save=False leaves writing quantity_reserved to the caller, which
    is saving the lines anyway. `rehold`: references whose product changed (a SKU changed on the channel):
    always held, so inventory gives back the old product's units and reserves the new one's.
    """
    return reservations_reconcile_many(merchant=merchant, orders=[(order, lines, rehold)], actor=actor,
                                       partial=partial, ships=ships, returns=returns, note=note, save=save)[0]


def reservations_reconcile_many(
    *, merchant: Merchant, orders: Sequence[tuple[Order, Sequence[OrderLine], Collection[str]]], actor=None,
    partial: bool = True, ships: Sequence[inventory_services.ShipRequest] = (),
    returns: Sequence[inventory_services.ReturnRequest] = (), note: str = "", save: bool = True,
    fresh: bool = False, products: Mapping[int, ProductInfo] | None = None,
) -> list[ReconcileResult]:
    """reservations_reconcile for several orders (order, lines, rehold) in ONE inventory call: a page of new
    channel orders (order_ingest_many) reserves with one lock of every level in id order and one write,
    instead of one stock_apply per order. Holds are asked in the orders' order, so under scarce stock the
    earlier order of the page gets the units first, as one-by-one ingest would. fresh=True: every line was
    inserted in this transaction and can hold nothing yet (inventory need not read its reservations).
    `products`: the lines' products as the caller matched them in this transaction (not read again)."""
    results = [ReconcileResult() for _ in orders]
    shipped = {s.reference: s.quantity for s in ships}
    holds: list[inventory_services.HoldTarget] = []
    by_ref: dict[str, tuple[OrderLine, ReconcileResult]] = {}
    for (order, lines, rehold), result in zip(orders, results, strict=True):
        for line in lines:
            target = line_target(order, line)
            # Shipping consumes the line's reservation first: this is what it holds after the shipment.
            expected = max(0, line.quantity_reserved - shipped.get(line.reference, 0))
            if expected != target or line.reference in shipped or line.reference in rehold:
                holds.append(inventory_services.HoldTarget(reference=line.reference, product_id=line.product_id,
                                                           quantity=target))
                by_ref[line.reference] = (line, result)
                result.attempted |= target > expected
    if holds or returns:
        # Lines matched in this transaction carry their Product: inventory need not read them again.
        known = products or {line.product_id: line.product for line, _r in by_ref.values()
                             if line.product_id is not None and OrderLine.product.is_cached(line)}
        got = inventory_services.stock_apply(
            merchant=merchant, ships=ships, returns=returns, holds=holds, actor=actor, partial=partial,
            products=known or None, note=note, fresh=fresh,
        )
        changed = []
        for reference, (line, result) in by_ref.items():
            held = got[reference]
            result.reserved += held.reserved
            result.released += held.released
            if held.reserved:
                result.reserved_by_line[line.pk] = held.reserved
            if line.quantity_reserved != held.held:
                line.quantity_reserved = held.held
                changed.append(line)
        if changed and save:
            _save_reserved(merchant, changed)
    for (order, lines, _rehold), result in zip(orders, results, strict=True):
        for line in lines:
            if line.product_id is not None and line.quantity_short > 0 and order.status not in HOLDS_NOTHING:
                result.short_lines.append({"line": line.pk, "sku": line.sku, "short": line.quantity_short})
    return results


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
    is_short = order.status not in HOLDS_NOTHING and any(
        line.product_id is not None and line.quantity_short > 0 for line in lines)
    needs_attention = order_needs_attention(order=order, lines=lines)
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


def order_needs_attention(*, order: Order, lines: Sequence[OrderLine]) -> bool:
    """A live order with a line to ship that no product matched: someone must map its SKU. Known before any
    stock moves (a page sets it on the new orders it inserts, so that they are not written twice)."""
    return order.status not in INACTIVE and any(line.product_id is None and line.quantity_outstanding > 0
                                                for line in lines)


def reconcile_events(*, order: Order, result: ReconcileResult, actor=None, allocated: bool = False) -> list[OrderEvent]:
    """Timeline rows describing what a reconcile did (unsaved; callers bulk-create them)."""
    events = []
    if result.reserved:
        kind = OrderEvent.Kind.ALLOCATED if allocated else OrderEvent.Kind.RESERVED
        events.append(OrderEvent(merchant_id=order.merchant_id, order=order, kind=kind, actor=actor,
                                 message=ngettext("%(n)s unit reserved", "%(n)s units reserved", result.reserved) % {"n": result.reserved},
                                 data={"by_line": {str(k): v for k, v in result.reserved_by_line.items()}}))
    if result.released:
        events.append(OrderEvent(merchant_id=order.merchant_id, order=order, kind=OrderEvent.Kind.RELEASED,
                                 actor=actor, message=ngettext("%(n)s unit released", "%(n)s units released", result.released) % {"n": result.released}))
    if result.short_lines and result.attempted and not allocated:
        short = sum(s["short"] for s in result.short_lines)
        events.append(OrderEvent(merchant_id=order.merchant_id, order=order, kind=OrderEvent.Kind.SHORT, actor=actor,
                                 message=ngettext("%(n)s unit could not be reserved", "%(n)s units could not be reserved", short) % {"n": short}, data={"lines": result.short_lines}))
    return events


LINE_PREFIX = "order_line:"


def _line_ids(references: Collection[str]) -> list[int]:
    ids = []
    for ref in references:
        tail = ref[len(LINE_PREFIX):]
        if ref.startswith(LINE_PREFIX) and tail.isdigit():
            ids.append(int(tail))
    return ids


def stocktake_lock(merchant: Merchant, references: Collection[str], *, nowait: bool = False) -> dict[str, Any]:
    """Inventory is about to take reservations back (a count below what is reserved): lock the orders of
    these lines first, in id order, as every order service does before it calls inventory, and say when
    each was placed so the newest gives way first. nowait=True (inventory already holds stock levels): an
    order locked by someone else raises lock_not_available instead of waiting, which could deadlock."""
    rows = list(OrderLine.objects.filter(merchant=merchant, pk__in=_line_ids(references))
                .values_list("pk", "order_id", "order__placed_at"))
    order_ids = sorted({order_id for _pk, order_id, _at in rows})
    if order_ids:
        list(Order.objects.select_for_update(of=("self",), nowait=nowait).filter(merchant=merchant, pk__in=order_ids)
             .order_by("pk").values_list("pk", flat=True))
    return {f"{LINE_PREFIX}{pk}": placed_at for pk, _order_id, placed_at in rows}


def stocktake_released(merchant: Merchant, still_held: Mapping[str, int]) -> None:
    """Inside inventory's transaction (the orders locked by stocktake_lock): lines hold what inventory
    left them, their orders go short and say why on their timeline."""
    lines = list(OrderLine.objects.filter(merchant=merchant, pk__in=_line_ids(still_held)))
    changed_lines, by_order = [], {}
    for line in lines:
        held = still_held[line.reference]
        if held != line.quantity_reserved:
            by_order.setdefault(line.order_id, 0)
            by_order[line.order_id] += max(0, line.quantity_reserved - held)
            line.quantity_reserved = held
            changed_lines.append(line)
    if not changed_lines:
        return
    _save_reserved(merchant, changed_lines)
    events = []
    for order in Order.objects.filter(merchant=merchant, pk__in=by_order).order_by("pk"):
        order_lines = list(OrderLine.objects.filter(merchant=merchant, order=order))
        fields = order_flags_refresh(order=order, lines=order_lines)
        if fields:
            order.save(update_fields=[*fields, "updated_at"])
        short = [{"line": li.pk, "sku": li.sku, "short": li.quantity_short} for li in order_lines
                 if li.product_id is not None and li.quantity_short > 0]
        events.append(OrderEvent(
            merchant_id=merchant.pk, order=order, kind=OrderEvent.Kind.SHORT,
            message=ngettext("%(n)s unit released: a stocktake counted fewer than were reserved",
                             "%(n)s units released: a stocktake counted fewer than were reserved",
                             by_order[order.pk]) % {"n": by_order[order.pk]},
            data={"lines": short, "stocktake": True},
        ))
    OrderEvent.objects.bulk_create(events)
