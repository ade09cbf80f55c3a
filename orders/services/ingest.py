"""Ingest: upsert a NormalizedOrder idempotently, then bring its reservations up to date.

What webhooks and the channel poller call. The same payload twice changes nothing and reserves
nothing twice; an update older than the stored channel_updated_at is ignored (webhooks arrive
out of order); line and quantity changes move reservations by the difference; a cancellation
from the channel releases. A channel order is never refused for lack of stock: what can be
reserved is, the rest is recorded as short.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import DatabaseError, IntegrityError, connection
from django.utils import timezone

from accounts.models import Merchant
from core.db import bound_cursor, retry_transaction, unnest_insert
from core.errors import TransientConflict, ValidationFailed
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.errors import OutOfStock
from inventory.selectors import sku_key
from orders.channels import channels, store_key
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from orders.normalized import NormalizedLine, NormalizedOrder
from orders.services import notifications
from orders.services.fulfillment import (
    channel_shipment_plan,
    channel_shipment_record,
    channel_ships_within_stock,
)
from orders.services.orders import order_return
from orders.services.reservations import (
    ReconcileResult,
    _save_reserved,
    order_flags_refresh,
    order_needs_attention,
    reconcile_events,
    reservations_reconcile_many,
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


def _new_order(merchant: Merchant, integration_id: int | None, normalized: NormalizedOrder, fingerprint: str,
               history_shipped: bool) -> Order:
    """A channel order as it arrives here the first time (unsaved): its status from the channel's word."""
    return Order(merchant=merchant, integration_id=integration_id, channel=normalized.channel,
                 external_id=normalized.external_id[:255], payload_fingerprint=fingerprint,
                 status=(OrderStatus.FULFILLED if history_shipped
                         else OrderStatus.AWAITING_PAYMENT if normalized.awaiting_payment
                         else OrderStatus.ON_HOLD if normalized.channel_hold else OrderStatus.UNFULFILLED),
                 hold_reason=CHANNEL_HOLD_REASON if normalized.channel_hold and not normalized.awaiting_payment
                 and not history_shipped else "",
                 ship_by_at=ship_by_for(merchant=merchant, placed_at=normalized.placed_at,
                                        promised=normalized.ship_by),
                 **_header(normalized))


def _received_event(order: Order, lines: list[OrderLine], history_shipped: bool) -> OrderEvent:
    return OrderEvent(merchant_id=order.merchant_id, order=order, kind=OrderEvent.Kind.RECEIVED,
                      message=f"Order {order.number} received from {order.get_channel_display()}"
                              + (" (shipped before the store was connected)" if history_shipped else ""),
                      data={"lines": len(lines)})


def _needs_attention_event(order: Order, lines: list[OrderLine]) -> OrderEvent:
    unmatched = sorted({li.sku for li in lines if li.product_id is None and li.quantity_outstanding > 0})
    return OrderEvent(merchant_id=order.merchant_id, order=order, kind=OrderEvent.Kind.NEEDS_ATTENTION,
                      message="No product has SKU " + ", ".join(unmatched), data={"skus": unmatched})


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
        order = _new_order(merchant, integration_id, normalized, fingerprint, history_shipped)
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
        try:
            result = reservations_reconcile_many(
                merchant=merchant, orders=[(order, lines, rehold)], partial=True, fresh=created,
                save=shipping is None, ships=shipping.ships if shipping else (), note=shipping.note if shipping else "",
            )[0]
        except OutOfStock:  # holds are partial: only the channel's shipment can be short of stock
            if shipping is None:
                raise
            # Shipped there beyond what is here: what there is leaves, the rest goes on the timeline (a channel
            # order is never refused), then the holds as above.
            channel_ships_within_stock(merchant=merchant, plan=shipping)
            result = reservations_reconcile_many(merchant=merchant, orders=[(order, lines, rehold)], partial=True,
                                                 fresh=created, save=False, note=shipping.note)[0]
    status_now = shipping.previous if shipping else order.status  # the shipment's own events tell its move
    flags = order_flags_refresh(order=order, lines=lines)
    if not created:
        order.save()
    elif flags or cancelled_now:  # a new order was just inserted whole: write only what changed since
        order.save(update_fields=[*flags, *(["status", "cancelled_at"] if cancelled_now else []), "updated_at"])

    if created:
        events.insert(0, _received_event(order, lines, history_shipped))
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
        events.append(_needs_attention_event(order, lines))
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
        notifications.notification_new_orders(merchant=merchant, orders=[order])
    if notify and cancelled_now:
        notifications.notification_channel_cancellation(merchant=merchant, order=order)
    logger.debug("orders.order.ingested", extra={"merchant_id": merchant.pk, "order_id": order.pk})
    return IngestResult(order=order, outcome="created" if created else "updated")


# ---------------------------------------------------------------- a page at a time

PageOutcome = IngestResult | ValidationFailed


def order_ingest_many(*, merchant: Merchant, integration_id: int | None, orders: Sequence[NormalizedOrder],
                      notify: bool | Sequence[bool] = True) -> list[PageOutcome]:
    """Ingest a page of channel orders (100-250, as a channel returns them) in one transaction, set-based.

    Why: one order per transaction is ~15 statements and a commit each; a backfill of 200,000 orders spent
    its time in round trips. Here a page costs a fixed handful of statements whatever its size: one lookup
    (and lock, in id order) of the page's existing orders, one SKU match (aliases included), one lock of
    every stock level the page needs in id order, one insert of the new orders and one of their lines, one
    inventory write (levels, ledger, reservations and outbox marks together), the lines' reserved counts,
    the timeline rows and the notifications in bulk.

    Each order's outcome is what order_ingest gives one by one, in the page's order: an update of an order
    created earlier in the page, a duplicate, a stale update are applied after what precedes them (such an
    order goes through order_ingest's own steps inside the page's transaction; the new orders between them
    go set-based), and under scarce stock the earlier order gets the units first. A page that meets a lock
    conflict, a deadlock or an order the database refuses falls back to halves, then to one order at a time
    (each piece its own transaction, so nothing is lost or doubled). `notify`: one flag for the page or one
    per order (a backfill's history sends no emails). Returns, per order, its IngestResult or the
    ValidationFailed that refused it (one bad order never stops the others).
    """
    flags = [notify] * len(orders) if isinstance(notify, bool) else list(notify)
    if len(flags) != len(orders):
        raise ValueError("notify must be one flag or one per order")
    out: list[PageOutcome | None] = [None] * len(orders)
    valid = []
    for i, normalized in enumerate(orders):
        try:
            _validate(normalized)
            valid.append(i)
        except ValidationFailed as exc:
            out[i] = exc
    prints = {i: orders[i].fingerprint() for i in valid}
    _pieces(merchant, integration_id, orders, flags, prints, valid, out)
    return out  # type: ignore[return-value]


def _pieces(merchant: Merchant, integration_id: int | None, orders: Sequence[NormalizedOrder], flags: list[bool],
            prints: dict[int, str], idx: list[int], out: list) -> None:
    """The page's fallback: the whole piece, else its halves, else order by order through order_ingest."""
    if not idx:
        return
    if len(idx) == 1:
        i = idx[0]
        try:
            out[i] = order_ingest(merchant=merchant, integration_id=integration_id, normalized=orders[i],
                                  notify=flags[i])
        except ValidationFailed as exc:
            out[i] = exc
        return
    try:
        results = _page(merchant, integration_id, [orders[i] for i in idx], [flags[i] for i in idx],
                        [prints[i] for i in idx])
    except (DatabaseError, TransientConflict, ValidationFailed) as exc:
        # A lock conflict after the retries, a concurrent creation of one of our new orders (unique key),
        # an order the database refuses: nothing of this piece was written; smaller pieces find out which.
        logger.info("orders.page.split", extra={"merchant_id": merchant.pk, "orders": len(idx),
                                                "error": type(exc).__name__})
        half = len(idx) // 2
        _pieces(merchant, integration_id, orders, flags, prints, idx[:half], out)
        _pieces(merchant, integration_id, orders, flags, prints, idx[half:], out)
        return
    for i, result in zip(idx, results, strict=True):
        out[i] = result


def _simple_new(normalized: NormalizedOrder, notify: bool) -> bool:
    """A new order the page inserts set-based: no cancellation, refund or shipment to apply on arrival (those
    go through order_ingest's steps, which call the order services)."""
    history_shipped = not notify and normalized.shipped_on_channel and not normalized.is_cancelled
    return (not normalized.is_cancelled and not normalized.is_refunded
            and (not normalized.shipped_on_channel or history_shipped))


@retry_transaction
def _page(merchant: Merchant, integration_id: int | None, items: list[NormalizedOrder], flags: list[bool],
          prints: list[str]) -> list[IngestResult]:
    keys = [(n.channel, n.external_id[:255]) for n in items]
    # 1. The page's existing orders, locked in id order (every order service locks an order before its stock).
    existing = {(o.channel, o.external_id): o for o in _page_existing(merchant, integration_id, keys)}
    # 2. What to do with each, in the page's order: a first sight of a new order joins a run inserted
    # set-based; an existing order's unchanged re-delivery or stale update is answered here; anything else
    # (a real update, a second sight of the same order, a cancellation or shipment on arrival) runs
    # order_ingest's own steps at its place in the page.
    plan: list[tuple[str, int]] = []
    seen: set[tuple[str, str]] = set()
    for pos, (key, normalized) in enumerate(zip(keys, items, strict=True)):
        first = key not in seen
        seen.add(key)
        stored = existing.get(key)
        if first and stored is None and _simple_new(normalized, flags[pos]):
            plan.append(("new", pos))
        elif first and stored is not None and _is_stale(stored, normalized):
            plan.append(("stale", pos))
        elif first and stored is not None and stored.payload_fingerprint == prints[pos]:
            plan.append(("unchanged", pos))
        else:
            plan.append(("one", pos))
    # 3. One SKU match for every line of the page (aliases included).
    store = store_key(integration_id)
    products = {}
    if any(kind in ("new", "one") for kind, _pos in plan):
        products = inventory_selectors.product_match_sku_infos(
            merchant=merchant, skus={n_line.sku for n in items for n_line in n.lines if n_line.sku}, store_key=store)
    # 4. When stock work happens in more than one step (runs and single orders), lock every level the page
    # may need first, in id order, so that the page never takes a level lock after waiting on another.
    steps = sum(1 for k, (kind, _p) in enumerate(plan) if kind == "one" or (
        kind == "new" and (k == 0 or plan[k - 1][0] != "new")))
    if steps > 1:
        held_by_existing = OrderLine.objects.filter(merchant=merchant, order__in=list(existing.values()),
                                                    product__isnull=False).values_list("product_id", flat=True)
        inventory_services.stock_lock(merchant=merchant, product_ids={p.pk for p in products.values()}
                                      | set(held_by_existing), products={p.pk: p for p in products.values()})
    results: list[IngestResult | None] = [None] * len(items)
    stale_events: list[OrderEvent] = []
    run: list[int] = []
    for kind, pos in plan:
        if kind == "new":
            run.append(pos)
            continue
        if run:
            _insert_run(merchant, integration_id, items, flags, prints, run, products, results)
            run = []
        stored = existing.get(keys[pos])
        if kind == "unchanged":
            results[pos] = IngestResult(order=stored, outcome="unchanged")
        elif kind == "stale":
            stale_events.append(_stale_event(stored, items[pos]))
            results[pos] = IngestResult(order=stored, outcome="stale")
        else:
            results[pos] = _ingest(merchant, integration_id, items[pos], prints[pos], flags[pos])
    if run:
        _insert_run(merchant, integration_id, items, flags, prints, run, products, results)
    if stale_events:
        OrderEvent.objects.bulk_create(stale_events)
    return results  # type: ignore[return-value]


def _page_existing(merchant: Merchant, integration_id: int | None, keys: list[tuple[str, str]]):
    """The stored orders of a page's (channel, external id) keys, locked in id order.

    On PostgreSQL each key is looked up on its own through the store's unique index (a LATERAL probe that
    OFFSET 0 keeps from being flattened into a join), then the rows found are locked by primary key. It
    replaces `external_id IN (...)` on the merchant's store, whose plan rested on the statistics: for a store
    the statistics have not seen yet (a new store's first backfill: autovacuum analyzes a big table only after
    10% of it changed), PostgreSQL estimated one row for the store and scanned all of its orders, filtering
    the 250 ids (333 ms a page at 200,000 orders, 5 ms once analyzed; BENCHMARKS.md, the bulk backfill). A
    probe of the whole unique key has one plan whatever the statistics say. `external_id <> ''` is the
    predicate of the unique index of orders without a store.

    The rows are then taken by primary key alone (the probe is what keeps them the merchant's): with the
    scoped manager's `merchant_id = ...` beside `id IN (probe)`, the same missing statistics made PostgreSQL
    read and sort every order of the merchant to merge them with the probe's (10 ms a page at 2,500 orders,
    growing with the store), even when the probe found nothing."""
    if connection.vendor != "postgresql":
        return (Order.objects.select_for_update(of=("self",)).order_by("pk")
                .filter(merchant=merchant, integration_id=integration_id, channel__in={c for c, _ in keys},
                        external_id__in={e for _, e in keys}).exclude(external_id=""))
    table = connection.ops.quote_name(Order._meta.db_table)
    store = "integration_id = %s" if integration_id is not None else "integration_id IS NULL AND external_id <> ''"
    return Order.objects.raw(  # noqa: S611 - the table name from the model, every value a parameter
        f"SELECT * FROM {table} WHERE id IN ("  # noqa: S608
        f"SELECT p.id FROM unnest(%s::text[], %s::text[]) AS k(channel, external_id) CROSS JOIN LATERAL ("
        f"SELECT id FROM {table} WHERE merchant_id = %s AND channel = k.channel AND {store} "
        f"AND external_id = k.external_id OFFSET 0) AS p) ORDER BY id FOR UPDATE OF {table}",
        [[c for c, _ in keys], [e for _, e in keys], merchant.pk, *([integration_id] if integration_id is not None else [])])


def _is_stale(order: Order, normalized: NormalizedOrder) -> bool:
    stored = order.channel_updated_at
    return bool(stored and normalized.channel_updated_at and normalized.channel_updated_at < stored)


def _stale_event(order: Order, normalized: NormalizedOrder) -> OrderEvent:
    return OrderEvent(
        merchant_id=order.merchant_id, order=order, kind=OrderEvent.Kind.STALE_IGNORED,
        message="An update older than the one already applied arrived late and was ignored.",
        data={"channel_updated_at": normalized.channel_updated_at.isoformat(),
              "stored": order.channel_updated_at.isoformat()},
    )


def _insert_run(merchant: Merchant, integration_id: int | None, items: list[NormalizedOrder], flags: list[bool],
                prints: list[str], run: list[int], products: dict, results: list) -> None:
    """New orders of the page, set-based: what _ingest does for a created order, for many at once.

    On PostgreSQL each row is written once, in its final state: the orders and lines take their ids from the
    tables' sequences first (one statement), the orders are inserted before this run's inventory call locks
    the stock (a concurrent page inserting one of them waits on us, never we on it while holding levels; but a
    page of several steps has locked every level it needs before its first run: a webhook inserting one of
    its new orders meanwhile can meet it in a deadlock, which PostgreSQL breaks and retry_transaction or the
    page's fallback runs again, nothing lost or doubled), the one inventory call
    reserves under the lines' references, and then the lines go in with what they hold, together with the
    timeline rows and the flags of orders that went short (one statement). This replaces bulk_create of the
    lines before the reservation followed by an UPDATE of every line's reserved count, and bulk_create's
    client-side quoting of a page's values (more client time than the rows cost the database).
    """
    pg = connection.vendor == "postgresql"
    history = {pos: not flags[pos] and items[pos].shipped_on_channel for pos in run}
    orders = [_new_order(merchant, integration_id, items[pos], prints[pos], history[pos]) for pos in run]
    all_lines: list[OrderLine] = []
    per_order: list[tuple[Order, list[OrderLine], tuple]] = []
    for pos, order in zip(run, orders, strict=True):
        _changed, new = _sync_lines(order, items[pos], [])
        for line in new:
            if history[pos]:
                line.quantity_fulfilled = line.quantity
            product = products.get(sku_key(line.sku)) if line.sku else None
            if product is not None:
                line.product_id = product.pk
        order.needs_attention = order_needs_attention(order=order, lines=new)
        all_lines.extend(new)
        per_order.append((order, new, ()))
    if pg:
        _take_ids(orders, all_lines)
        sql, params = unnest_insert(Order, orders)
        with bound_cursor() as cur:
            cur.execute(sql, params)
    else:
        Order.objects.bulk_create(orders)
        for line in all_lines:
            line.order = line.order  # the order's new id
        OrderLine.objects.bulk_create(all_lines)
    # One inventory call for the whole run, holds in the page's order.
    reconciled = reservations_reconcile_many(merchant=merchant, orders=per_order, partial=True, fresh=True,
                                             save=False, products={p.pk: p for p in products.values()})
    flagged, events, news = [], [], []
    for pos, (order, lines, _r), result in zip(run, per_order, reconciled, strict=True):
        if order_flags_refresh(order=order, lines=lines):
            flagged.append(order)
        events.append(_received_event(order, lines, history[pos]))
        if order.needs_attention:
            events.append(_needs_attention_event(order, lines))
        events.extend(reconcile_events(order=order, result=result))
        if flags[pos] and order.status not in (OrderStatus.CANCELLED, OrderStatus.AWAITING_PAYMENT):
            news.append(order)
        results[pos] = IngestResult(order=order, outcome="created")
    if pg:
        _insert_final(merchant, all_lines, events, flagged)
    else:
        reserved = [li for li in all_lines if li.quantity_reserved]
        if reserved:
            _save_reserved(merchant, reserved)
        if flagged:
            Order.objects.bulk_update(flagged, ["is_short", "went_short_at", "needs_attention", "updated_at"])
        OrderEvent.objects.bulk_create(events)
    if news:
        notifications.notification_new_orders(merchant=merchant, orders=news)


def _take_ids(orders: list[Order], lines: list[OrderLine]) -> None:
    """Ids for a run's new orders and lines from the tables' own sequences, in one statement (PostgreSQL): the
    lines' references ("order_line:<id>") exist before the lines are written, so they are written once."""
    with bound_cursor() as cur:
        cur.execute(
            "SELECT array(SELECT nextval(pg_get_serial_sequence(%b, 'id')) FROM generate_series(1, %b::int)), "
            "array(SELECT nextval(pg_get_serial_sequence(%b, 'id')) FROM generate_series(1, %b::int))",
            [Order._meta.db_table, len(orders), OrderLine._meta.db_table, len(lines)],
        )
        order_ids, line_ids = cur.fetchone()
    for order, pk in zip(orders, sorted(order_ids), strict=True):
        order.pk = pk
    for line, pk in zip(lines, sorted(line_ids), strict=True):
        line.pk = pk
        line.order = line.order  # the order's new id


def _insert_final(merchant: Merchant, lines: list[OrderLine], events: list[OrderEvent], short: list[Order]) -> None:
    """A run's lines (with what they hold), its timeline rows and the flags of its orders that went short, in
    one statement of data-modifying CTEs (PostgreSQL). Replaces bulk_create of the lines and of the events, the
    UPDATE of the lines' reserved counts and bulk_update of the short orders: four round trips and every line
    written twice."""
    line_sql, line_params = unnest_insert(OrderLine, lines)
    event_sql, event_params = unnest_insert(OrderEvent, events)
    now = timezone.now()
    for order in short:
        order.updated_at = now
    table = Order._meta.db_table
    with bound_cursor() as cur:
        cur.execute(
            f"WITH l AS ({line_sql}), e AS ({event_sql}), "  # noqa: S608
            f"s AS (UPDATE {table} AS o SET is_short = v.short, went_short_at = v.at, updated_at = %b "
            "FROM unnest(%b::bigint[], %b::boolean[], %b::timestamptz[]) AS v(id, short, at) "
            "WHERE o.merchant_id = %b AND o.id = v.id) SELECT 1",
            [*line_params, *event_params, now, [o.pk for o in short], [o.is_short for o in short],
             [o.went_short_at for o in short], merchant.pk],
        )
