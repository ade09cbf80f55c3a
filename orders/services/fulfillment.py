"""Shipments: partial and split, carrier and tracking, shipping the stock, telling the channel.

Marking a shipment shipped ships its units through inventory (consuming each line's reservation
first) and writes a TrackingOutbox row in the same transaction; the channel sync pushes the
tracking number back later. Manual tracking needs no label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Merchant
from inventory import services as inventory_services
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
from orders.workflow import check_fulfillment


@dataclass(frozen=True)
class ShipmentLineRequest:
    order_line_id: int
    quantity: int


def order_lock(*, merchant: Merchant, order_id: int) -> Order:
    """The order row, locked: every write to an order and its reservations goes through this lock."""
    from orders.selectors import order_get

    order_get(merchant=merchant, pk=order_id)  # NotFound for another merchant's id
    return Order.objects.select_for_update(of=("self",)).get(merchant=merchant, pk=order_id)


def status_after_fulfillment(lines: Sequence[OrderLine]) -> str:
    """What shipping has made of the order: nothing left to ship → fulfilled."""
    shipped = sum(li.quantity_fulfilled for li in lines)
    left = sum(li.quantity_outstanding for li in lines)
    if left == 0 and shipped > 0:
        return OrderStatus.FULFILLED
    return OrderStatus.PARTIALLY_FULFILLED if shipped > 0 else OrderStatus.UNFULFILLED


def _pending_quantities(merchant: Merchant, order: Order) -> dict[int, int]:
    rows = (ShipmentLine.objects.filter(merchant=merchant, shipment__order=order,
                                        shipment__status=Shipment.Status.PENDING)
            .values("order_line_id").annotate(q=Sum("quantity")))
    return {r["order_line_id"]: r["q"] for r in rows}


def shipment_create(
    *, merchant: Merchant, order: Order, lines: Sequence[ShipmentLineRequest], actor=None, carrier: str = "",
    service: str = "", tracking_number: str = "", tracking_url: str = "", ship: bool = True,
) -> Shipment:
    """Create a shipment of some quantities of some lines; ship it at once unless ship=False."""
    with transaction.atomic():
        order = order_lock(merchant=merchant, order_id=order.pk)
        check_fulfillment(order.status, OrderStatus.PARTIALLY_FULFILLED)
        if not lines:
            raise ShipmentInvalid("A shipment needs at least one line.")
        order_lines = {li.pk: li for li in OrderLine.objects.filter(merchant=merchant, order=order)}
        pending = _pending_quantities(merchant, order)
        wanted: dict[int, int] = {}
        for req in lines:
            line = order_lines.get(req.order_line_id)
            if line is None:
                raise ShipmentInvalid("That line is not part of this order.", details={"line": req.order_line_id})
            if req.quantity <= 0:
                raise ShipmentInvalid("Quantities must be positive.", details={"line": line.pk})
            if line.product_id is None:
                raise ShipmentInvalid(f"SKU {line.sku} matches no product; map it before shipping.",
                                      code="sku_not_mapped", details={"line": line.pk, "sku": line.sku})
            wanted[line.pk] = wanted.get(line.pk, 0) + req.quantity
            free = line.quantity_outstanding - pending.get(line.pk, 0)
            if wanted[line.pk] > free:
                raise ShipmentInvalid(
                    f"Only {free} of {line.sku} are left to ship.",
                    details={"line": line.pk, "sku": line.sku, "requested": wanted[line.pk], "left": free},
                )
        shipment = Shipment.objects.create(
            merchant=merchant, order=order, carrier=carrier[:64], service=service[:64],
            tracking_number=tracking_number[:128], tracking_url=tracking_url[:500], created_by=actor,
        )
        ShipmentLine.objects.bulk_create(
            [ShipmentLine(merchant=merchant, shipment=shipment, order_line_id=pk, quantity=q) for pk, q in wanted.items()]
        )
        OrderEvent.objects.create(merchant=merchant, order=order, kind=OrderEvent.Kind.SHIPMENT, actor=actor,
                                  message=f"Shipment {shipment.pk}: {sum(wanted.values())} unit(s)",
                                  data={"shipment": shipment.pk, "lines": {str(k): v for k, v in wanted.items()}})
        if ship:
            shipment = shipment_mark_shipped(merchant=merchant, shipment=shipment, actor=actor)
    return shipment


def shipment_mark_shipped(
    *, merchant: Merchant, shipment: Shipment, actor=None, carrier: str | None = None,
    tracking_number: str | None = None, tracking_url: str | None = None,
) -> Shipment:
    """Ship the stock, move the order along the workflow, and queue the tracking push."""
    with transaction.atomic():
        order = order_lock(merchant=merchant, order_id=shipment.order_id)
        shipment = Shipment.objects.select_for_update().get(merchant=merchant, pk=shipment.pk)
        if shipment.status == Shipment.Status.SHIPPED:
            raise ShipmentAlreadyShipped(details={"shipment": shipment.pk})
        lines = list(OrderLine.objects.filter(merchant=merchant, order=order).order_by("position", "id"))
        by_pk = {li.pk: li for li in lines}
        shipment_lines = list(ShipmentLine.objects.filter(merchant=merchant, shipment=shipment))
        for sl in shipment_lines:
            line = by_pk[sl.order_line_id]
            if line.product_id is None:  # its SKU changed on the channel after the parcel was made
                raise ShipmentInvalid(f"SKU {line.sku} matches no product; map it before shipping.",
                                      code="sku_not_mapped", details={"line": line.pk, "sku": line.sku})
            if sl.quantity > line.quantity_outstanding:
                raise ShipmentInvalid(f"Only {line.quantity_outstanding} of {line.sku} are left to ship.",
                                      details={"line": line.pk, "left": line.quantity_outstanding})
            line.quantity_fulfilled += sl.quantity
        new_status = status_after_fulfillment(lines)
        check_fulfillment(order.status, new_status)
        for sl in sorted(shipment_lines, key=lambda s: s.order_line_id):
            line = by_pk[sl.order_line_id]
            inventory_services.stock_ship(merchant=merchant, reference=line.reference, product_id=line.product_id,
                                          quantity=sl.quantity, actor=actor, shipment_reference=f"shipment:{shipment.pk}")
            line.quantity_reserved = max(0, line.quantity_reserved - sl.quantity)
        OrderLine.objects.bulk_update(lines, ["quantity_fulfilled", "quantity_reserved", "updated_at"])
        if carrier is not None:
            shipment.carrier = carrier[:64]
        if tracking_number is not None:
            shipment.tracking_number = tracking_number[:128]
        if tracking_url is not None:
            shipment.tracking_url = tracking_url[:500]
        now = timezone.now()
        shipment.status, shipment.shipped_at = Shipment.Status.SHIPPED, now
        shipment.save()
        previous = order.status
        order.status = new_status
        order.first_shipped_at = order.first_shipped_at or now
        # Reservations beyond what is still to ship (a line shipped from unreserved stock) go back.
        reservations_reconcile(merchant=merchant, order=order, lines=lines, actor=actor)
        order_flags_refresh(order=order, lines=lines)
        order.save()
        if order.channel != MANUAL:
            TrackingOutbox.objects.create(merchant=merchant, order=order, shipment=shipment,
                                          integration_id=order.integration_id, channel=order.channel)
        units = sum(sl.quantity for sl in shipment_lines)
        events = [OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.SHIPPED, actor=actor,
                             message=f"Shipment {shipment.pk} shipped ({units} unit(s))"
                                     + (f" via {shipment.carrier} {shipment.tracking_number}".rstrip()
                                        if shipment.carrier or shipment.tracking_number else ""),
                             data={"shipment": shipment.pk, "carrier": shipment.carrier,
                                   "tracking_number": shipment.tracking_number})]
        if previous != new_status:
            events.append(OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.STATUS, actor=actor,
                                     message=f"{previous} → {new_status}", data={"from": previous, "to": new_status}))
        OrderEvent.objects.bulk_create(events)
        shipment.order = order
        notifications.notification_customer_shipped(merchant=merchant, shipment=shipment)
    return shipment


def order_fulfill_all(*, merchant: Merchant, order: Order, actor=None, carrier: str = "",
                      tracking_number: str = "") -> Shipment:
    """Bulk "mark fulfilled": one shipment of everything still to ship, shipped now."""
    with transaction.atomic():
        order = order_lock(merchant=merchant, order_id=order.pk)
        pending = _pending_quantities(merchant, order)
        requests = [
            ShipmentLineRequest(order_line_id=li.pk, quantity=li.quantity_outstanding - pending.get(li.pk, 0))
            for li in OrderLine.objects.filter(merchant=merchant, order=order)
            if li.quantity_outstanding - pending.get(li.pk, 0) > 0
        ]
        if not requests:
            check_fulfillment(order.status, OrderStatus.FULFILLED)
            raise ShipmentInvalid("Nothing is left to ship on this order.")
        return shipment_create(merchant=merchant, order=order, lines=requests, actor=actor, carrier=carrier,
                               tracking_number=tracking_number, ship=True)
