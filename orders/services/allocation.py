"""When stock arrives, short orders get it, oldest first.

Inventory marks every product whose availability changed for the "orders" consumer (its
availability outbox). This takes those marks, tops up the reservations of the open short lines
of those products in order of placed_at, then acknowledges the marks. Each order is topped up
in its own transaction under its row lock, so a long backlog never holds many locks; the marks
are acknowledged last, so a crash part-way means the next run simply tries again.
"""

from __future__ import annotations

from django.db.models import F

from accounts.models import Merchant
from core.db import retry_transaction
from inventory import services as inventory_services
from orders.models import OrderEvent, OrderLine
from orders.services.reservations import (
    ReconcileResult,
    order_flags_refresh,
    reconcile_events,
    reservations_reconcile,
)
from orders.workflow import OPEN, order_lock_with_lines

CONSUMER = "orders"


def short_orders_allocate(*, merchant: Merchant, product_ids: set[int] | None = None, limit: int = 500) -> dict:
    """Top up short orders (of the given products, or of the products inventory marked) oldest first."""
    marks = []
    if product_ids is None:
        marks = inventory_services.availability_take(merchant=merchant, consumer=CONSUMER, limit=limit)
        product_ids = {m.product_id for m in marks}
    allocated_units = 0
    orders_topped = 0
    while product_ids:
        # Orders with a line of these products that is itself short (an order short only of something
        # else must not take a batch's place), oldest first.
        rows = (
            OrderLine.objects.filter(merchant=merchant, product_id__in=product_ids, order__is_short=True,
                                     order__status__in=OPEN)
            .filter(quantity_reserved__lt=F("quantity") - F("quantity_fulfilled") - F("quantity_cancelled"))
            .order_by("order__placed_at", "order_id").values_list("order_id", "order__placed_at").distinct()[:limit]
        )
        candidates = list(dict.fromkeys(order_id for order_id, _ in rows))
        batch_units = 0
        for order_id in candidates:
            result = _top_up(merchant=merchant, order_id=order_id)
            if result is not None:
                batch_units += result.reserved
                allocated_units += result.reserved
                orders_topped += 1
        # A full batch that still found stock may have more waiting behind it; otherwise we are done.
        if len(rows) < limit or not batch_units:
            break
    if marks:
        inventory_services.availability_ack(merchant=merchant, consumer=CONSUMER, marks=marks)
    return {"marks": len(marks), "orders": orders_topped, "units": allocated_units}


@retry_transaction
def _top_up(*, merchant: Merchant, order_id: int) -> ReconcileResult | None:
    """One order, one transaction, one inventory call; None when it no longer needs (or got) anything."""
    order, lines = order_lock_with_lines(merchant=merchant, order_id=order_id)
    if not order.is_short or order.status not in OPEN:
        return None
    result = reservations_reconcile(merchant=merchant, order=order, lines=lines)
    if not result.reserved and not result.released:
        return None
    order_flags_refresh(order=order, lines=lines)
    order.save(update_fields=["is_short", "needs_attention", "went_short_at", "updated_at"])
    OrderEvent.objects.bulk_create(reconcile_events(order=order, result=result, allocated=True))
    return result
