"""Ingest: upsert a NormalizedOrder idempotently, then bring its reservations up to date.

What webhooks and the channel poller call. The same payload twice changes nothing and reserves
nothing twice; an update older than the stored channel_updated_at is ignored (webhooks arrive
out of order); line and quantity changes move reservations by the difference; a cancellation
from the channel releases. A channel order is never refused for lack of stock: what can be
reserved is, the rest is recorded as short.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError
from django.utils import timezone

from accounts.models import Merchant
from core.db import retry_transaction
from core.errors import ValidationFailed
from inventory import selectors as inventory_selectors
from inventory.selectors import sku_key
from orders.channels import channels, store_key
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from orders.normalized import NormalizedLine, NormalizedOrder
from orders.services import notifications
from orders.services.fulfillment import channel_shipment_plan, channel_shipment_record
from orders.services.orders import order_return
from orders.services.reservations import (
    ReconcileResult,
    order_flags_refresh,
    reconcile_events,
    reservations_reconcile,
)
from orders.services.ship_by import ship_by_for
from orders.workflow import (
    FLOWING,
    INACTIVE,
    can_transition,
    cancel_remaining,
    status_after_fulfillment,
    status_change_words,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    order: Order
    outcome: str  # "created" | "updated" | "unchanged" | "stale"


# The hold_reason of an order the channel holds (NormalizedOrder.channel_hold): only such a hold is
# released by the channel, never one the merchant put on.
CHANNEL_HOLD_REASON = "Held on the channel"


def _money(value) -> Decimal:
    """To the cent, half up as receipts round (Decimal's default, half even, makes 2.125 into 2.12)."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _header(normalized: NormalizedOrder) -> dict:
    return {
        "number": (normalized.number or normalized.external_id)[:64],
        "customer_name": normalized.customer_name[:255],
        "customer_email": normalized.customer_email[:254],
        "shipping_address": normalized.shipping_address.as_dict(),
        "currency": (normalized.currency or "USD").upper()[:3],
        "subtotal_amount": _money(normalized.subtotal),
        "shipping_amount": _money(normalized.shipping),
        "tax_amount": _money(normalized.tax),
        "total_amount": _money(normalized.total),
        "placed_at": normalized.placed_at,
        "channel_updated_at": normalized.channel_updated_at,
        "channel_payment_status": normalized.payment_status[:64],
        "channel_fulfillment_status": normalized.fulfillment_status[:64],
        "requested_service": normalized.requested_service[:128],
        "raw_payload": normalized.raw,
        "channel_data": dict(normalized.channel_data or {}),
    }


# What the merchant reads on an order: a change to anything else (the channel's own status words, its
# modified time, the raw payload) is bookkeeping, and adds no "details changed" to the timeline.
_SHOWN = ("number", "customer_name", "customer_email", "shipping_address", "currency", "subtotal_amount",
          "shipping_amount", "tax_amount", "total_amount", "placed_at", "requested_service")


def _locked(merchant: Merchant, integration_id: int | None, normalized: NormalizedOrder) -> Order | None:
    # No ORDER BY (which .first() would add from Meta.ordering, steering the planner onto the list
    # index and a scan of the merchant's orders): the unique index finds the row directly.
    rows = list(
        Order.objects.select_for_update(of=("self",))
        .filter(merchant=merchant, channel=normalized.channel, integration_id=integration_id,
                external_id=normalized.external_id[:255])
        .order_by()[:1]
    )
    return rows[0] if rows else None


def _validate(normalized: NormalizedOrder) -> None:
    if normalized.channel not in channels:
        raise ValidationFailed(f"Unknown channel {normalized.channel!r}.", code="unknown_channel")
    if not normalized.external_id:
        raise ValidationFailed("A channel order needs its external id.", code="external_id_required")
    if _money(normalized.total) < 0:  # the table's check constraint would turn it into an IntegrityError (500)
        raise ValidationFailed("An order total cannot be negative.", code="negative_total",
                               details={"total": str(normalized.total)})
    for line in normalized.lines:
        if line.quantity < 0:
            raise ValidationFailed("Line quantities cannot be negative.", details={"sku": line.sku})


# How alike a channel line without a line id is to a stored one of the same SKU, closest first.
_LIKENESS = (
    lambda n, li: n.quantity == li.quantity and _money(n.unit_price) == li.unit_price_amount,
    lambda n, li: n.quantity == li.quantity,
    lambda n, li: _money(n.unit_price) == li.unit_price_amount,
    lambda n, li: True,
)


def _pair_without_ids(incoming: list[tuple[int, NormalizedLine]], stored: list[OrderLine]) -> dict[int, OrderLine]:
    """Pair channel lines that carry no line id with stored lines that carry none, by content.

    A position says nothing about which line is which: when the channel drops an earlier line the
    later ones move up, and pairing by position would cancel a shipped line and add it again to
    be reserved and shipped a second time. So lines are paired by SKU, closest likeness first
    (quantity and price, quantity, price, SKU alone), and a line the channel no longer lists is
    one nothing was paired with. Among equally alike lines the one that has shipped most is taken
    first: the channel's units are then counted against what already left, never shipped on top.
    Returns {index in the channel's lines: stored line}.
    """
    free = sorted(stored, key=lambda li: (-li.quantity_fulfilled, li.position, li.pk or 0))
    pairs: dict[int, OrderLine] = {}
    for alike in _LIKENESS:
        for index, n in incoming:
            if index in pairs:
                continue
            sku = sku_key(n.sku)
            line = next((li for li in free if sku_key(li.sku) == sku and alike(n, li)), None)
            if line is not None:
                pairs[index] = line
                free.remove(line)
    return pairs


def _sync_lines(order: Order, normalized: NormalizedOrder, existing: list[OrderLine]):
    """Work out how the order's lines must change to match the channel's (nothing saved yet).

    Lines are the same line by the channel's line id, or, for lines without one, by content
    (_pair_without_ids), never by position. A line the channel no longer lists is kept (for audit)
    with its remainder cancelled; a line whose SKU changed under the same line id releases what it
    held and is matched again.
    """
    by_id = {li.external_id: li for li in existing if li.external_id}
    without_ids = _pair_without_ids([(i, n) for i, n in enumerate(normalized.lines) if not n.external_id],
                                    [li for li in existing if not li.external_id])
    seen: set[int] = set()
    changed: list[OrderLine] = []
    new: list[OrderLine] = []
    active = order.status not in INACTIVE
    for position, n in enumerate(normalized.lines):
        line = by_id.get(n.external_id) if n.external_id else without_ids.get(position)
        if line is None:
            # A line added to an order that is cancelled or returned here is cancelled with it.
            new.append(OrderLine(merchant_id=order.merchant_id, order=order, external_id=n.external_id[:255],
                                 sku=n.sku[:128], title=n.title[:500], quantity=n.quantity,
                                 quantity_cancelled=0 if active else n.quantity,
                                 unit_price_amount=_money(n.unit_price), position=position))
            continue
        seen.add(line.pk)
        before = (line.sku, line.title, line.quantity, line.unit_price_amount, line.quantity_cancelled, line.position)
        if sku_key(n.sku) != sku_key(line.sku):
            line.product = None  # matched again below; the reservation follows by difference
        line.sku, line.title, line.unit_price_amount = n.sku[:128], n.title[:500], _money(n.unit_price)
        line.quantity = max(n.quantity, line.quantity_fulfilled)
        line.quantity_cancelled = 0 if active else line.quantity - line.quantity_fulfilled
        line.position = position  # the channel's order, also when it moved lines about
        if before != (line.sku, line.title, line.quantity, line.unit_price_amount, line.quantity_cancelled,
                      line.position):
            changed.append(line)
    for line in existing:
        if line.pk not in seen and line.quantity_outstanding > 0:
            line.quantity_cancelled = line.quantity - line.quantity_fulfilled
            changed.append(line)
    return changed, new


def _match(merchant: Merchant, lines: list[OrderLine], store: str = "") -> list[OrderLine]:
    """Point unmatched lines at the merchant's product with the same SKU (case-insensitive), or the one a
    remembered alias names (the store's own before the merchant-wide one); unsaved."""
    unmatched = [li for li in lines if li.product_id is None and li.sku]
    if not unmatched:
        return []
    products = inventory_selectors.product_match_skus(merchant=merchant, skus={li.sku for li in unmatched},
                                                      store_key=store)
    matched = []
    for line in unmatched:
        product = products.get(sku_key(line.sku))
        if product is not None:
            line.product = product
            matched.append(line)
    return matched


def _apply_lines(merchant: Merchant, order: Order, existing: list[OrderLine], changed: list[OrderLine],
                 new: list[OrderLine]) -> tuple[list[OrderLine], list[OrderLine], set[str]]:
    """Save line changes and matches; returns (all lines, lines matched to a product now, references whose
    product changed). A line whose SKU changed still holds the old product's units: the order's one
    inventory call (reservations_reconcile with `rehold`) gives them back and reserves the new product's."""
    rehold = {line.reference for line in changed if line.product_id is None and line.quantity_reserved}
    matched = _match(merchant, [*existing, *new], store_key(order.integration_id))
    to_update = {id(li): li for li in [*changed, *(m for m in matched if m.pk)]}
    if to_update:
        OrderLine.objects.bulk_update(
            list(to_update.values()),
            ["sku", "title", "quantity", "unit_price_amount", "quantity_cancelled", "product", "quantity_reserved",
             "position", "updated_at"],
        )
    if new:
        OrderLine.objects.bulk_create(new)
    lines = sorted([*existing, *new], key=lambda li: (li.position, li.pk or 0))
    return lines, [m for m in matched if m in existing], rehold


def order_ingest(*, merchant: Merchant, integration_id: int | None, normalized: NormalizedOrder,
                 notify: bool = True) -> IngestResult:
    """Upsert one channel order and its reservations in one transaction. Safe to call any number of times.

    notify=False sends no new-order or channel-cancellation email: a backfill of orders placed before
    the store was connected is history to the merchant, not news (thousands of emails otherwise).

    Two deliveries of a new order racing each other: the loser's INSERT hits the unique constraint,
    its whole transaction rolls back (nothing reserved), and it runs again as an update of the
    winner's order, which it now finds and locks.
    """
    _validate(normalized)
    fingerprint = normalized.fingerprint()
    try:
        return _ingest(merchant, integration_id, normalized, fingerprint, notify)
    except IntegrityError:
        return _ingest(merchant, integration_id, normalized, fingerprint, notify)


@retry_transaction
def _ingest(merchant: Merchant, integration_id: int | None, normalized: NormalizedOrder,
            fingerprint: str, notify: bool = True) -> IngestResult:
    order = _locked(merchant, integration_id, normalized)
    created = order is None
    # An order of the store's history (placed before it was connected) that the channel says has shipped:
    # recorded as shipped with no stock moving (the store's count, our opening stock, already lacks it).
    history_shipped = created and not notify and normalized.shipped_on_channel and not normalized.is_cancelled
    shown_before: tuple = ()
    if created:
        order = Order(merchant=merchant, integration_id=integration_id, channel=normalized.channel,
                      external_id=normalized.external_id[:255], payload_fingerprint=fingerprint,
                      status=(OrderStatus.FULFILLED if history_shipped
                              else OrderStatus.AWAITING_PAYMENT if normalized.awaiting_payment
                              else OrderStatus.ON_HOLD if normalized.channel_hold else OrderStatus.UNFULFILLED),
                      hold_reason=CHANNEL_HOLD_REASON if normalized.channel_hold and not normalized.awaiting_payment
                      and not history_shipped else "",
                      ship_by_at=ship_by_for(merchant=merchant, placed_at=normalized.placed_at,
                                             promised=normalized.ship_by),
                      **_header(normalized))
        order.save(force_insert=True)
    else:
        stored = order.channel_updated_at
        if stored and normalized.channel_updated_at and normalized.channel_updated_at < stored:
            OrderEvent.objects.create(
                merchant=merchant, order=order, kind=OrderEvent.Kind.STALE_IGNORED,
                message="An update older than the one already applied arrived late and was ignored.",
                data={"channel_updated_at": normalized.channel_updated_at.isoformat(),
                      "stored": stored.isoformat()},
            )
            return IngestResult(order=order, outcome="stale")
        if order.payload_fingerprint == fingerprint:
            return IngestResult(order=order, outcome="unchanged")
        shown_before = tuple(getattr(order, name) for name in _SHOWN)
        for name, value in _header(normalized).items():
            setattr(order, name, value)
        order.payload_fingerprint = fingerprint
        if normalized.ship_by is not None or order.ship_by_at is None:
            # A promise the channel moved is the new deadline; without one the default set at arrival stays
            # (a later change of the merchant's default does not move orders already in the queue).
            order.ship_by_at = ship_by_for(merchant=merchant, placed_at=order.placed_at, promised=normalized.ship_by)

    existing = [] if created else list(OrderLine.objects.filter(merchant=merchant, order=order).order_by("position", "id"))
    changed, new = _sync_lines(order, normalized, existing)
    if history_shipped:
        for line in new:
            line.quantity_fulfilled = line.quantity
    lines, matched, rehold = _apply_lines(merchant, order, existing, changed, new)
    lines_changed = bool(changed or new)
    events: list[OrderEvent] = []
    if matched and not created:
        events.append(OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.SKU_MAPPED,
                                 message=", ".join(sorted({li.sku for li in matched}))))

    # A refund after something shipped is a return (below); before, it cancels like a cancellation.
    shipped_any = any(li.quantity_fulfilled for li in lines)
    returning = normalized.is_refunded and shipped_any and order.status != OrderStatus.RETURNED
    cancelling = normalized.is_cancelled or (normalized.is_refunded and not shipped_any)
    cancelled_now = False
    if cancelling and order.status != OrderStatus.CANCELLED:
        if can_transition(order.status, OrderStatus.CANCELLED):
            order.status = OrderStatus.CANCELLED
            order.cancelled_at = timezone.now()
            cancel_remaining(merchant=merchant, order=order, lines=lines)
            cancelled_now = True
        else:
            events.append(OrderEvent(
                merchant=merchant, order=order, kind=OrderEvent.Kind.CANCELLED,
                message=f"The channel cancelled this order, but it is already {order.status}; nothing changed here.",
            ))

    # Paid on the channel at last: an order to ship now, and its stock is reserved by the reconcile below.
    # (Once paid it stays paid here: a later unpaid state changes nothing, as the shipping may have begun.)
    paid_now = (not created and not cancelled_now and order.status == OrderStatus.AWAITING_PAYMENT
                and not normalized.awaiting_payment)
    if paid_now:
        order.status = OrderStatus.UNFULFILLED

    # The channel's own hold, set and released by the channel (a merchant's hold is left alone).
    held_from = None
    if not created and not cancelled_now:
        if (normalized.channel_hold and order.status in (OrderStatus.UNFULFILLED, OrderStatus.PARTIALLY_FULFILLED)
                and can_transition(order.status, OrderStatus.ON_HOLD)):
            held_from, order.status, order.hold_reason = order.status, OrderStatus.ON_HOLD, CHANNEL_HOLD_REASON
        elif (not normalized.channel_hold and order.status == OrderStatus.ON_HOLD
              and order.hold_reason == CHANNEL_HOLD_REASON):
            target = status_after_fulfillment(lines)
            if can_transition(order.status, target):
                held_from, order.status, order.hold_reason = order.status, target, ""

    status_before = order.status
    if not created and not cancelled_now and lines_changed and order.status in FLOWING:
        # Lines dropped, cut to what shipped, or added after shipping: the status follows what is left.
        target = status_after_fulfillment(lines)
        if target != order.status and can_transition(order.status, target):
            order.status = target

    # The channel's word on what happened outside Switchboard (returned, or shipped) moves its stock in the
    # order's one inventory call, never in a second one after this reconcile's (two calls lock the levels twice,
    # the second time in another order than a concurrent order's first: a deadlock).
    returned_here = returning and can_transition(order.status, OrderStatus.RETURNED)
    shipping = (channel_shipment_plan(merchant=merchant, order=order, lines=lines)
                if normalized.shipped_on_channel and not history_shipped and not cancelled_now and not returned_here
                else None)
    if returned_here:  # order_return below releases and returns in its one call
        result = ReconcileResult()
    else:
        result = reservations_reconcile(merchant=merchant, order=order, lines=lines, partial=True, rehold=rehold,
                                        save=shipping is None, ships=shipping.ships if shipping else (),
                                        note=shipping.note if shipping else "")
    status_now = shipping.previous if shipping else order.status  # the shipment's own events tell its move
    flags = order_flags_refresh(order=order, lines=lines)
    if not created:
        order.save()
    elif flags or cancelled_now:  # a new order was just inserted whole: write only what changed since
        order.save(update_fields=[*flags, *(["status", "cancelled_at"] if cancelled_now else []), "updated_at"])

    if created:
        events.insert(0, OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.RECEIVED,
                                    message=f"Order {order.number} received from {order.get_channel_display()}"
                                            + (" (shipped before the store was connected)" if history_shipped
                                               else ""),
                                    data={"lines": len(lines)}))
    elif (not lines_changed and not events and status_now == status_before and held_from is None
          and not cancelled_now and not paid_now and shown_before == tuple(getattr(order, n) for n in _SHOWN)):
        pass  # only the channel's bookkeeping moved (our own status change coming back): nothing to tell
    else:
        events.insert(0, OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.UPDATED,
                                    message="Lines changed" if lines_changed else "Details changed"))
    if cancelled_now:
        events.append(OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.CANCELLED,
                                 message="Cancelled on the channel"))
    elif paid_now:
        events.append(OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.STATUS,
                                 message=status_change_words(OrderStatus.AWAITING_PAYMENT, order.status) + " (paid on the channel)",
                                 data={"from": OrderStatus.AWAITING_PAYMENT, "to": order.status}))
    elif held_from is not None:
        events.append(OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.STATUS,
                                 message=status_change_words(held_from, order.status) + " (on the channel)",
                                 data={"from": held_from, "to": order.status}))
    elif status_now != status_before:
        events.append(OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.STATUS,
                                 message=status_change_words(status_before, status_now) + " (lines changed on the channel)",
                                 data={"from": status_before, "to": status_now}))
    if order.needs_attention and (created or matched or lines_changed):
        unmatched = sorted({li.sku for li in lines if li.product_id is None and li.quantity_outstanding > 0})
        events.append(OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.NEEDS_ATTENTION,
                                 message="No product has SKU " + ", ".join(unmatched), data={"skus": unmatched}))
    events.extend(reconcile_events(order=order, result=result))
    OrderEvent.objects.bulk_create(events)

    # The channel's word on what happened outside Switchboard, after this timeline: a return through the service a
    # merchant's action takes (the order's one inventory call), or the shipment planned above recorded (its stock
    # left in this ingest's one call) with its own timeline rows.
    if returned_here:
        order = order_return(merchant=merchant, order=order, restock=False,
                             reason="refunded on the channel after it shipped")
    elif shipping is not None:
        channel_shipment_record(merchant=merchant, order=order, lines=lines, plan=shipping)

    # An unpaid order is no news yet: its new-order email goes out when it is paid.
    if notify and ((created and order.status not in (OrderStatus.CANCELLED, OrderStatus.AWAITING_PAYMENT))
                   or paid_now):
        notifications.notification_new_order(merchant=merchant, order=order)
    if notify and cancelled_now:
        notifications.notification_channel_cancellation(merchant=merchant, order=order)
    logger.debug("orders.order.ingested", extra={"merchant_id": merchant.pk, "order_id": order.pk})
    return IngestResult(order=order, outcome="created" if created else "updated")
