"""Shipments: partial and split, carrier and tracking, shipping the stock, telling the channel.

Marking a shipment shipped ships its units through inventory (consuming each line's reservation
first) and writes a TrackingOutbox row in the same transaction; the channel sync pushes the
tracking number back later. Manual tracking needs no label. A pending shipment may be cancelled.

Every public service here locks the order once (`order_lock_with_lines`) and hands the locked order
and its lines to the private steps, so shipping runs the same number of queries for 1 line or 50.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import ngettext

from accounts.models import Merchant
from core.db import retry_transaction
from core.errors import NotFound
from inventory import services as inventory_services
from orders.carriers import tracking_url_for
from orders.channels import MANUAL
from orders.errors import ShipmentAlreadyShipped, ShipmentInvalid
from orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
    TrackingOutbox,
)
from orders.services import notifications
from orders.services.reservations import order_flags_refresh, reservations_reconcile
from orders.services.tracking import tracking_outbox_written
from orders.workflow import (
    SHIPPABLE,
    check_fulfillment,
    left_to_ship,
    order_lock_with_lines,
    pending_quantities,
    status_after_fulfillment,
    status_change_words,
)

__all__ = ["ShipmentLineRequest", "order_fulfill_all", "order_shipped_on_channel", "shipment_cancel",
           "shipment_create", "shipment_mark_shipped", "shipment_pending_ensure", "shipment_tracking_update", "shipment_unship", "status_after_fulfillment"]


@dataclass(frozen=True)
class ShipmentLineRequest:
    order_line_id: int
    quantity: int


def _pending_quantities(merchant: Merchant, order: Order) -> dict[int, int]:
    return pending_quantities(ShipmentLine.objects.filter(
        merchant=merchant, shipment__order=order, shipment__status=Shipment.Status.PENDING,
    ).values_list("order_line_id", "quantity"))


def _not_mapped(line: OrderLine) -> ShipmentInvalid:
    return ShipmentInvalid(f"SKU {line.sku} matches no product; map it before shipping.",
                           code="sku_not_mapped", details={"line": line.pk, "sku": line.sku})


@retry_transaction
def shipment_create(
    *, merchant: Merchant, order: Order, lines: Sequence[ShipmentLineRequest], actor=None, carrier: str = "",
    service: str = "", tracking_number: str = "", tracking_url: str = "", ship: bool = True,
) -> Shipment:
    """Create a shipment of some quantities of some lines; ship it at once unless ship=False."""
    locked, order_lines = order_lock_with_lines(merchant=merchant, order_id=order.pk)
    return _create(merchant, locked, order_lines, lines, actor=actor, carrier=carrier, service=service,
                   tracking_number=tracking_number, tracking_url=tracking_url, ship=ship)


def _create(
    merchant: Merchant, order: Order, order_lines: list[OrderLine], requests: Sequence[ShipmentLineRequest], *,
    actor, carrier: str, service: str, tracking_number: str, tracking_url: str, ship: bool,
    pending: dict[int, int] | None = None, on_channel: bool = False,
) -> Shipment:
    check_fulfillment(order.status, OrderStatus.PARTIALLY_FULFILLED)
    if not requests:
        raise ShipmentInvalid("A shipment needs at least one line.")
    by_pk = {li.pk: li for li in order_lines}
    left = left_to_ship(order_lines, _pending_quantities(merchant, order) if pending is None else pending)
    wanted: dict[int, int] = {}
    for req in requests:
        line = by_pk.get(req.order_line_id)
        if line is None:
            raise ShipmentInvalid("That line is not part of this order.", details={"line": req.order_line_id})
        if req.quantity <= 0:
            raise ShipmentInvalid("Quantities must be positive.", details={"line": line.pk})
        if line.product_id is None:
            raise _not_mapped(line)
        wanted[line.pk] = wanted.get(line.pk, 0) + req.quantity
        if wanted[line.pk] > left[line.pk]:
            raise ShipmentInvalid(
                f"Only {left[line.pk]} of {line.sku} are left to ship.",
                details={"line": line.pk, "sku": line.sku, "requested": wanted[line.pk], "left": left[line.pk]},
            )
    shipment = Shipment.objects.create(
        merchant=merchant, order=order, carrier=carrier[:64], service=service[:64],
        tracking_number=tracking_number[:128],
        tracking_url=(tracking_url or tracking_url_for(carrier, tracking_number))[:500], created_by=actor,
    )
    shipment_lines = ShipmentLine.objects.bulk_create(
        [ShipmentLine(merchant=merchant, shipment=shipment, order_line_id=pk, quantity=q) for pk, q in wanted.items()]
    )
    OrderEvent.objects.create(merchant=merchant, order=order, kind=OrderEvent.Kind.SHIPMENT, actor=actor,
                              message=ngettext("Shipment %(pk)s: %(n)s unit", "Shipment %(pk)s: %(n)s units",
                                               sum(wanted.values())) % {"pk": shipment.pk, "n": sum(wanted.values())},
                              data={"shipment": shipment.pk, "lines": {str(k): v for k, v in wanted.items()}})
    if ship:
        _ship(merchant, order, order_lines, shipment, shipment_lines, actor=actor, on_channel=on_channel)
    return shipment


@retry_transaction
def shipment_mark_shipped(
    *, merchant: Merchant, shipment: Shipment, actor=None, carrier: str | None = None,
    tracking_number: str | None = None, tracking_url: str | None = None, service: str | None = None,
    label_cost_amount: Decimal | None = None, delivery_days: int | None = None,
) -> Shipment:
    """Ship the stock, move the order along the workflow, and queue the tracking push. A bought label
    (labels) gives its service, what the carrier account was charged (so label spend is real) and the
    delivery days its rate promised (analytics' on-time delivery)."""
    order, lines = order_lock_with_lines(merchant=merchant, order_id=shipment.order_id)
    shipment = Shipment.objects.get(merchant=merchant, pk=shipment.pk)  # the order's lock guards its shipments
    if shipment.status == Shipment.Status.SHIPPED:
        raise ShipmentAlreadyShipped(details={"shipment": shipment.pk})
    shipment_lines = list(ShipmentLine.objects.filter(merchant=merchant, shipment=shipment))
    if service is not None:
        shipment.service = service[:64]
    if label_cost_amount is not None:
        shipment.label_cost_amount = label_cost_amount
    if delivery_days is not None:
        shipment.delivery_days = min(delivery_days, 32767)
    _ship(merchant, order, lines, shipment, shipment_lines, actor=actor, carrier=carrier,
          tracking_number=tracking_number, tracking_url=tracking_url)
    return shipment


@retry_transaction
def shipment_pending_ensure(*, merchant: Merchant, order: Order, actor=None) -> Shipment:
    """The order's pending shipment (the oldest), or a new pending one of everything left to ship (a
    batch of labels buys one per order). Nothing left to ship is ShipmentInvalid."""
    locked, lines = order_lock_with_lines(merchant=merchant, order_id=order.pk)
    rows = list(Shipment.objects.filter(merchant=merchant, order=locked, status=Shipment.Status.PENDING)
                .order_by("id")[:1])
    if rows:
        return rows[0]
    pending = _pending_quantities(merchant, locked)
    requests = [ShipmentLineRequest(order_line_id=pk, quantity=q)
                for pk, q in left_to_ship(lines, pending).items() if q > 0]
    if not requests:
        raise ShipmentInvalid("Nothing is left to ship on this order.", code="nothing_to_ship")
    return _create(merchant, locked, lines, requests, actor=actor, carrier="", service="", tracking_number="",
                   tracking_url="", ship=False, pending=pending)


@retry_transaction
def shipment_unship(*, merchant: Merchant, shipment: Shipment, actor=None, reason: str = "") -> Shipment:
    """Undo shipping a parcel that never left (its label was voided): its units go back on hand and are
    reserved again for their lines, the order steps back (fulfilled → partially fulfilled or unfulfilled),
    and the shipment is pending again with no tracking or label cost, ready to ship with a new label
    (whose tracking then reaches the channel through a new outbox row, as any shipment's does)."""
    order, lines = order_lock_with_lines(merchant=merchant, order_id=shipment.order_id)
    shipment = Shipment.objects.get(merchant=merchant, pk=shipment.pk)  # the order's lock guards its shipments
    if shipment.status != Shipment.Status.SHIPPED:
        raise ShipmentInvalid("This shipment has not shipped.", code="shipment_not_shipped",
                              details={"shipment": shipment.pk})
    if order.status not in (OrderStatus.FULFILLED, OrderStatus.PARTIALLY_FULFILLED):
        raise ShipmentInvalid(f"The order is {order.status}; its shipments can no longer be taken back.",
                              code="order_not_shipping", details={"order": order.pk, "status": order.status})
    shipment_lines = list(ShipmentLine.objects.filter(merchant=merchant, shipment=shipment))
    by_pk = {li.pk: li for li in lines}
    returns = []
    for sl in sorted(shipment_lines, key=lambda s: s.order_line_id):
        line = by_pk[sl.order_line_id]
        line.quantity_fulfilled = max(0, line.quantity_fulfilled - sl.quantity)
        if line.product_id is not None:
            returns.append(inventory_services.ReturnRequest(reference=line.reference, product_id=line.product_id,
                                                            quantity=sl.quantity))
    previous = order.status
    order.status = status_after_fulfillment(lines)
    reservations_reconcile(merchant=merchant, order=order, lines=lines, actor=actor, save=False,
                           note=f"shipment:{shipment.pk}:unshipped", returns=returns)
    OrderLine.objects.bulk_update(lines, ["quantity_fulfilled", "quantity_reserved", "updated_at"])
    old_tracking = shipment.tracking_number
    shipment.status, shipment.shipped_at = Shipment.Status.PENDING, None
    shipment.tracking_number = shipment.tracking_url = ""
    shipment.label_cost_amount, shipment.delivery_days = Decimal("0"), None
    shipment.tracking_status, shipment.tracking_status_at = "", None
    shipment.save()
    order_flags_refresh(order=order, lines=lines)
    order.save()
    events = [OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.SHIPMENT, actor=actor,
                         message=f"Shipment {shipment.pk} taken back before it left"
                                 + (f": {reason}" if reason else "")[:400],
                         data={"shipment": shipment.pk, "unshipped": True, "tracking_number": old_tracking})]
    if previous != order.status:
        events.append(OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.STATUS, actor=actor,
                                 message=status_change_words(previous, order.status), data={"from": previous, "to": order.status}))
    OrderEvent.objects.bulk_create(events)
    return shipment


def _ship(
    merchant: Merchant, order: Order, lines: list[OrderLine], shipment: Shipment, shipment_lines: list[ShipmentLine],
    *, actor, carrier: str | None = None, tracking_number: str | None = None, tracking_url: str | None = None,
    on_channel: bool = False,
) -> None:
    """Ship a pending shipment of the locked order: one inventory call ships its units and brings every
    line's reservation to what is still to ship. `on_channel`: the channel shipped it and told the
    customer itself, so neither the channel nor the customer is told again."""
    by_pk = {li.pk: li for li in lines}
    for sl in shipment_lines:
        line = by_pk[sl.order_line_id]
        if line.product_id is None:  # its SKU changed on the channel after the parcel was made
            raise _not_mapped(line)
        if sl.quantity > line.quantity_outstanding:
            raise ShipmentInvalid(f"Only {line.quantity_outstanding} of {line.sku} are left to ship.",
                                  details={"line": line.pk, "left": line.quantity_outstanding})
        line.quantity_fulfilled += sl.quantity
    new_status = status_after_fulfillment(lines)
    check_fulfillment(order.status, new_status)
    previous = order.status
    order.status = new_status
    # Reservations beyond what is still to ship (a line shipped from unreserved stock) go back in the same call.
    reservations_reconcile(
        merchant=merchant, order=order, lines=lines, actor=actor, save=False, note=f"shipment:{shipment.pk}",
        ships=[inventory_services.ShipRequest(reference=by_pk[sl.order_line_id].reference,
                                              product_id=by_pk[sl.order_line_id].product_id, quantity=sl.quantity)
               for sl in sorted(shipment_lines, key=lambda s: s.order_line_id)],
    )
    OrderLine.objects.bulk_update(lines, ["quantity_fulfilled", "quantity_reserved", "updated_at"])
    if carrier is not None:
        shipment.carrier = carrier[:64]
    if tracking_number is not None:
        shipment.tracking_number = tracking_number[:128]
    if tracking_url is not None:
        shipment.tracking_url = tracking_url[:500]
    if not shipment.tracking_url:  # a listed carrier's public tracking page
        shipment.tracking_url = tracking_url_for(shipment.carrier, shipment.tracking_number)[:500]
    now = timezone.now()
    shipment.status, shipment.shipped_at = Shipment.Status.SHIPPED, now
    shipment.save()
    order.first_shipped_at = order.first_shipped_at or now
    order_flags_refresh(order=order, lines=lines)
    order.save()
    if order.channel != MANUAL and order.integration_id is not None and not on_channel:  # demo orders: no store
        TrackingOutbox.objects.create(merchant=merchant, order=order, shipment=shipment,
                                      integration_id=order.integration_id, channel=order.channel)
        tracking_outbox_written(merchant_id=merchant.pk)  # the push leaves on commit
    units = sum(sl.quantity for sl in shipment_lines)
    where = " on the channel" if on_channel else ""
    events = [OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.SHIPPED, actor=actor,
                         message=f"Shipment {shipment.pk} shipped{where} ("
                                 + ngettext("%(n)s unit", "%(n)s units", units) % {"n": units} + ")"
                                 + (f" via {shipment.carrier} {shipment.tracking_number}".rstrip()
                                    if shipment.carrier or shipment.tracking_number else ""),
                         data={"shipment": shipment.pk, "carrier": shipment.carrier,
                               "tracking_number": shipment.tracking_number, "on_channel": on_channel})]
    if previous != new_status:
        events.append(OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.STATUS, actor=actor,
                                 message=status_change_words(previous, new_status) + (" (shipped on the channel)" if on_channel else ""),
                                 data={"from": previous, "to": new_status}))
    OrderEvent.objects.bulk_create(events)
    shipment.order = order
    if not on_channel:
        notifications.notification_customer_shipped(merchant=merchant, shipment=shipment)


@retry_transaction
def shipment_cancel(*, merchant: Merchant, shipment: Shipment, actor=None) -> Order:
    """Take back a parcel that has not left: its units are offered to ship again. A shipped one cannot be."""
    order, _lines = order_lock_with_lines(merchant=merchant, order_id=shipment.order_id)
    rows = list(Shipment.objects.filter(merchant=merchant, pk=shipment.pk).order_by()[:1])
    if not rows:  # cancelled meanwhile by someone else
        raise NotFound("No such shipment.")
    if rows[0].status == Shipment.Status.SHIPPED:
        raise ShipmentAlreadyShipped("This shipment has shipped; it cannot be cancelled.",
                                     details={"shipment": shipment.pk})
    units = sum(ShipmentLine.objects.filter(merchant=merchant, shipment_id=shipment.pk).values_list("quantity", flat=True))
    Shipment.objects.filter(merchant=merchant, pk=shipment.pk).delete()
    OrderEvent.objects.create(merchant=merchant, order=order, kind=OrderEvent.Kind.SHIPMENT_CANCELLED, actor=actor,
                              message=ngettext("Shipment %(pk)s cancelled before it shipped (%(n)s unit)",
                                               "Shipment %(pk)s cancelled before it shipped (%(n)s units)",
                                               units) % {"pk": shipment.pk, "n": units},
                              data={"shipment": shipment.pk, "cancelled": True})
    return order


@retry_transaction
def order_fulfill_all(*, merchant: Merchant, order: Order, actor=None, carrier: str = "",
                      tracking_number: str = "", reason: str = "") -> Shipment:
    """Bulk "mark fulfilled": one shipment of everything still to ship, shipped now. The reason (why
    without tracking) goes on the order's timeline in the same transaction."""
    locked, lines = order_lock_with_lines(merchant=merchant, order_id=order.pk)
    pending = _pending_quantities(merchant, locked)
    requests = [ShipmentLineRequest(order_line_id=pk, quantity=q)
                for pk, q in left_to_ship(lines, pending).items() if q > 0]
    if not requests:
        check_fulfillment(locked.status, OrderStatus.FULFILLED)
        raise ShipmentInvalid("Nothing is left to ship on this order.")
    shipment = _create(merchant, locked, lines, requests, actor=actor, carrier=carrier, service="",
                       tracking_number=tracking_number, tracking_url="", ship=True, pending=pending)
    if reason:
        OrderEvent.objects.create(merchant=merchant, order=locked, kind=OrderEvent.Kind.STATUS, actor=actor,
                                  message=f"Marked fulfilled without tracking: {reason}"[:500],
                                  data={"reason": reason, "shipment": shipment.pk})
    return shipment


@retry_transaction
def order_shipped_on_channel(*, merchant: Merchant, order: Order) -> Shipment | None:
    """The channel says the order left without us (the merchant shipped it from the channel's own admin):
    one shipment of every mapped unit still to ship, shipped now on the channel's word. Its stock leaves
    through inventory as any shipment's does; the channel and the customer are not told (they know).
    None when nothing mapped is left to ship or the order may not ship (on hold here, cancelled)."""
    locked, lines = order_lock_with_lines(merchant=merchant, order_id=order.pk)
    if locked.status not in SHIPPABLE:
        return None
    pending = _pending_quantities(merchant, locked)
    requests = [ShipmentLineRequest(order_line_id=pk, quantity=q)
                for pk, q in left_to_ship(lines, pending).items()
                if q > 0 and next(li for li in lines if li.pk == pk).product_id is not None]
    if not requests:
        return None
    return _create(merchant, locked, lines, requests, actor=None, carrier="", service="", tracking_number="",
                   tracking_url="", ship=True, pending=pending, on_channel=True)


# Tracking statuses the customer may be told about (notifications' customer_tracking email).
TOLD_TO_CUSTOMER = frozenset({Shipment.TrackingStatus.OUT_FOR_DELIVERY, Shipment.TrackingStatus.DELIVERED,
                              Shipment.TrackingStatus.EXCEPTION})


@retry_transaction
def shipment_tracking_update(*, merchant: Merchant, shipment: Shipment, status: str, description: str = "",
                             occurred_at=None, source: str = "") -> bool:
    """Record where a shipped parcel is (a carrier's tracker event): the shipment's `tracking_status` and a
    line of tracking history on the order's timeline; out for delivery, delivered and exceptions email the
    customer once each (if the merchant sends tracking emails). An event older than the one recorded, or
    the same status again, changes nothing (carriers repeat and reorder events). Returns whether it changed."""
    if status not in Shipment.TrackingStatus.values or not status:
        raise ShipmentInvalid(f"Unknown tracking status {status!r}.", code="tracking_status_invalid")
    occurred_at = occurred_at or timezone.now()
    row = Shipment.objects.select_for_update(of=("self",)).select_related("order").get(merchant=merchant,
                                                                                        pk=shipment.pk)
    if row.tracking_status == status or (row.tracking_status_at and occurred_at < row.tracking_status_at):
        return False
    previous = row.tracking_status
    row.tracking_status, row.tracking_status_at = status, occurred_at
    row.save(update_fields=["tracking_status", "tracking_status_at"])
    words = Shipment.TrackingStatus(status).label
    OrderEvent.objects.create(merchant=merchant, order=row.order, kind=OrderEvent.Kind.TRACKING,
                              message=f"Shipment {row.pk}: {words}" + (f" ({description})" if description else "")[:400],
                              data={"shipment": row.pk, "from": previous, "to": status, "source": source,
                                    "occurred_at": occurred_at.isoformat(), "description": description[:500]})
    if status in TOLD_TO_CUSTOMER:
        notifications.notification_customer_tracking(merchant=merchant, shipment=row, status=status)
    return True
