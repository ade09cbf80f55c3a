"""Shipments: partial and split, carrier and tracking, shipping the stock, telling the channel.

Marking a shipment shipped ships its units through inventory (consuming each line's reservation
first) and writes a TrackingOutbox row in the same transaction; the channel sync pushes the
tracking number back later. Manual tracking needs no label. A pending shipment may be cancelled.

Every public service here locks the order once (`order_lock_with_lines`) and hands the locked order
and its lines to the private steps, so shipping runs the same number of queries for 1 line or 50.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.models import Merchant
from core.db import retry_transaction
from core.errors import NotFound
from inventory import services as inventory_services
from inventory.errors import OutOfStock
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
    units_words,
)

__all__ = ["ChannelShipment", "ShipmentLineRequest", "channel_shipment_plan", "channel_shipment_record", "channel_ships_within_stock", "order_fulfill_all", "order_shipped_on_channel", "shipment_cancel",
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
    pending: dict[int, int] | None = None,
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
    shipment = Shipment(
        merchant=merchant, order=order, carrier=carrier[:64], service=service[:64],
        tracking_number=tracking_number[:128],
        tracking_url=(tracking_url or tracking_url_for(carrier, tracking_number))[:500], created_by=actor,
    )
    parcel = _Parcel(shipment=shipment, lines=wanted, is_new=True)
    if ship:
        _ship(merchant, order, order_lines, [parcel], actor=actor)
        return shipment
    shipment.save(force_insert=True)
    ShipmentLine.objects.bulk_create(parcel.shipment_lines(merchant))
    OrderEvent.objects.bulk_create([_made_event(merchant, order, parcel, actor)])
    return shipment


@dataclass
class _Parcel:
    """A shipment about to ship and {order line id: units} in it. A new one (is_new) is inserted already
    shipped, with its lines; a pending one is updated to shipped (rewrite_lines: its lines replaced, as the
    channel's word does when it folds what is left into it)."""

    shipment: Shipment
    lines: dict[int, int]
    is_new: bool = False
    rewrite_lines: bool = False

    def shipment_lines(self, merchant: Merchant) -> list[ShipmentLine]:
        return [ShipmentLine(merchant=merchant, shipment=self.shipment, order_line_id=pk, quantity=q)
                for pk, q in sorted(self.lines.items())]

    @property
    def units(self) -> int:
        return sum(self.lines.values())


def _made_event(merchant: Merchant, order: Order, parcel: _Parcel, actor) -> OrderEvent:
    return OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.SHIPMENT, actor=actor,
                      message=ngettext("Shipment %(pk)s: %(n)s unit", "Shipment %(pk)s: %(n)s units", parcel.units)
                              % {"pk": parcel.shipment.pk, "n": parcel.units},
                      data={"shipment": parcel.shipment.pk, "lines": {str(k): v for k, v in sorted(parcel.lines.items())}})


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
    units = pending_quantities(ShipmentLine.objects.filter(merchant=merchant, shipment=shipment)
                               .values_list("order_line_id", "quantity"))
    if service is not None:
        shipment.service = service[:64]
    if label_cost_amount is not None:
        shipment.label_cost_amount = label_cost_amount
    if delivery_days is not None:
        shipment.delivery_days = min(delivery_days, 32767)
    if carrier is not None:
        shipment.carrier = carrier[:64]
    if tracking_number is not None:
        shipment.tracking_number = tracking_number[:128]
    if tracking_url is not None:
        shipment.tracking_url = tracking_url[:500]
    _ship(merchant, order, lines, [_Parcel(shipment=shipment, lines=units)], actor=actor)
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
    not_in_stock = []  # units the channel shipped beyond our stock: they never left it, so none come back
    for sl in sorted(shipment_lines, key=lambda s: s.order_line_id):
        line = by_pk[sl.order_line_id]
        line.quantity_fulfilled = max(0, line.quantity_fulfilled - sl.quantity)
        from_stock = sl.quantity - sl.quantity_unstocked
        if sl.quantity_unstocked:
            not_in_stock.append({"line": line.pk, "sku": line.sku, "units": sl.quantity_unstocked})
        if line.product_id is not None and from_stock > 0:
            returns.append(inventory_services.ReturnRequest(reference=line.reference, product_id=line.product_id,
                                                            quantity=from_stock))
    if not_in_stock:  # pending again: all of it ships from stock next time
        ShipmentLine.objects.filter(merchant=merchant, shipment=shipment, quantity_unstocked__gt=0).update(
            quantity_unstocked=0)
    previous = order.status
    order.status = status_after_fulfillment(lines)
    reservations_reconcile(merchant=merchant, order=order, lines=lines, actor=actor, save=False,
                           note=f"shipment:{shipment.pk}:unshipped", returns=returns)
    _lines_save(merchant, lines)
    old_tracking = shipment.tracking_number
    shipment.status, shipment.shipped_at = Shipment.Status.PENDING, None
    shipment.tracking_number = shipment.tracking_url = ""
    shipment.label_cost_amount, shipment.delivery_days = Decimal("0"), None
    shipment.tracking_status, shipment.tracking_status_at = "", None
    shipment.save()
    order_flags_refresh(order=order, lines=lines)
    order.save()
    data = {"shipment": shipment.pk, "unshipped": True, "tracking_number": old_tracking}
    if not_in_stock:
        data["not_in_stock"] = not_in_stock
    events = [OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.SHIPMENT, actor=actor,
                         message=(f"Shipment {shipment.pk} taken back before it left"
                                  + (f": {reason}" if reason else "")[:400]
                                  + (f" ({units_words(not_in_stock)} not put back on hand: they never left stock "
                                     "here)" if not_in_stock else ""))[:500],
                         data=data)]
    if previous != order.status:
        events.append(OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.STATUS, actor=actor,
                                 message=status_change_words(previous, order.status), data={"from": previous, "to": order.status}))
    OrderEvent.objects.bulk_create(events)
    return shipment


def _ship(merchant: Merchant, order: Order, lines: list[OrderLine], parcels: list[_Parcel], *, actor,
          on_channel: bool = False) -> None:
    """Ship parcels of the locked order: the shipments written shipped, then one inventory call ships their
    units and brings every line's reservation to what is still to ship, then the lines, the order, the
    outbox and the timeline, each in one statement however many lines the order has."""
    previous, ships = _ship_begin(merchant, order, lines, parcels)
    # Reservations beyond what is still to ship (a line shipped from unreserved stock) go back in the same call.
    reservations_reconcile(merchant=merchant, order=order, lines=lines, actor=actor, save=False,
                           note=_ledger_note(parcels), ships=ships)
    _ship_finish(merchant, order, lines, parcels, previous, actor=actor, on_channel=on_channel)


def _ledger_note(parcels: Sequence[_Parcel]) -> str:
    return "shipment:" + ",".join(str(p.shipment.pk) for p in parcels)


def _ship_begin(merchant: Merchant, order: Order, lines: list[OrderLine],
                parcels: Sequence[_Parcel]) -> tuple[str, list[inventory_services.ShipRequest]]:
    """Check what the parcels take against the locked lines, count it shipped (in memory), move the order's
    status, and write the shipments shipped (their ids name the ledger rows). Returns the status before and
    what inventory is to ship, one request per line in line order. Nothing is asked of inventory here."""
    by_pk = {li.pk: li for li in lines}
    shipped: dict[int, int] = {}
    for parcel in parcels:
        for pk, quantity in parcel.lines.items():
            shipped[pk] = shipped.get(pk, 0) + quantity
    for pk, quantity in sorted(shipped.items()):
        line = by_pk[pk]
        if line.product_id is None:  # its SKU changed on the channel after the parcel was made
            raise _not_mapped(line)
        if quantity > line.quantity_outstanding:
            raise ShipmentInvalid(f"Only {line.quantity_outstanding} of {line.sku} are left to ship.",
                                  details={"line": line.pk, "left": line.quantity_outstanding})
        line.quantity_fulfilled += quantity
    new_status = status_after_fulfillment(lines)
    check_fulfillment(order.status, new_status)
    previous, order.status = order.status, new_status
    now = timezone.now()
    order.first_shipped_at = order.first_shipped_at or now
    for parcel in parcels:
        shipment = parcel.shipment
        if not shipment.tracking_url:  # a listed carrier's public tracking page
            shipment.tracking_url = tracking_url_for(shipment.carrier, shipment.tracking_number)[:500]
        shipment.status, shipment.shipped_at = Shipment.Status.SHIPPED, now
        if parcel.is_new:
            shipment.save(force_insert=True)  # inserted shipped: no INSERT pending then UPDATE shipped
        else:
            shipment.save()
    rewrite = [p.shipment.pk for p in parcels if p.rewrite_lines]
    if rewrite:
        ShipmentLine.objects.filter(merchant=merchant, shipment_id__in=rewrite).delete()
    written = [sl for p in parcels if p.is_new or p.rewrite_lines for sl in p.shipment_lines(merchant)]
    if written:
        ShipmentLine.objects.bulk_create(written)
    ships = [inventory_services.ShipRequest(reference=by_pk[pk].reference, product_id=by_pk[pk].product_id,
                                            quantity=quantity) for pk, quantity in sorted(shipped.items())]
    return previous, ships


def _ship_finish(merchant: Merchant, order: Order, lines: list[OrderLine], parcels: Sequence[_Parcel],
                 previous: str, *, actor, on_channel: bool) -> None:
    """After inventory shipped the parcels' units: the lines' counts, the order, the tracking outbox and the
    timeline. `on_channel`: the channel shipped it and told the customer itself, so neither the channel nor
    the customer is told again."""
    _lines_save(merchant, lines)
    order_flags_refresh(order=order, lines=lines)
    order.save()
    if order.channel != MANUAL and order.integration_id is not None and not on_channel:  # demo orders: no store
        TrackingOutbox.objects.bulk_create([
            TrackingOutbox(merchant=merchant, order=order, shipment=p.shipment, integration_id=order.integration_id,
                           channel=order.channel) for p in parcels])
        tracking_outbox_written(merchant_id=merchant.pk)  # the push leaves on commit
    where = " on the channel" if on_channel else ""
    events = []
    for parcel in parcels:
        shipment = parcel.shipment
        if parcel.is_new:
            events.append(_made_event(merchant, order, parcel, actor))
        events.append(OrderEvent(
            merchant=merchant, order=order, kind=OrderEvent.Kind.SHIPPED, actor=actor,
            message=f"Shipment {shipment.pk} shipped{where} ("
                    + ngettext("%(n)s unit", "%(n)s units", parcel.units) % {"n": parcel.units} + ")"
                    + (f" via {shipment.carrier} {shipment.tracking_number}".rstrip()
                       if shipment.carrier or shipment.tracking_number else ""),
            data={"shipment": shipment.pk, "carrier": shipment.carrier, "tracking_number": shipment.tracking_number,
                  "on_channel": on_channel}))
    if previous != order.status:
        events.append(OrderEvent(merchant=merchant, order=order, kind=OrderEvent.Kind.STATUS, actor=actor,
                                 message=status_change_words(previous, order.status) + (" (shipped on the channel)" if on_channel else ""),
                                 data={"from": previous, "to": order.status}))
    OrderEvent.objects.bulk_create(events)
    for parcel in parcels:
        parcel.shipment.order = order
        if not on_channel:
            notifications.notification_customer_shipped(merchant=merchant, shipment=parcel.shipment)


def _lines_save(merchant: Merchant, lines: Sequence[OrderLine]) -> None:
    """Write the lines' shipped and reserved counts. On PostgreSQL one UPDATE ... FROM unnest(), which replaces
    `OrderLine.objects.bulk_update(lines, [...])` (one CASE WHEN per line and column: a statement that grows
    with the order and costs more Python to build than PostgreSQL to run)."""
    now = timezone.now()
    for line in lines:
        line.updated_at = now
    if not lines:
        return
    if connection.vendor != "postgresql":
        OrderLine.objects.bulk_update(lines, ["quantity_fulfilled", "quantity_reserved", "updated_at"])
        return
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {OrderLine._meta.db_table} AS l SET quantity_fulfilled = v.f, quantity_reserved = v.r, "  # noqa: S608
            "updated_at = %s FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS v(id, f, r) "
            "WHERE l.merchant_id = %s AND l.id = v.id",
            [now, [li.pk for li in lines], [li.quantity_fulfilled for li in lines],
             [li.quantity_reserved for li in lines], merchant.pk],
        )


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


@dataclass
class ChannelShipment:
    """What the channel's word ships, planned before the order's one inventory call (`ships`, `note`: hand
    them to that call) and recorded after it by `channel_shipment_record`."""

    parcels: list[_Parcel]
    previous: str
    ships: list[inventory_services.ShipRequest]
    note: str
    # {line reference: units} the channel shipped that were not in stock here (channel_ships_within_stock)
    not_in_stock: dict[str, int] = field(default_factory=dict)


def channel_shipment_plan(*, merchant: Merchant, order: Order, lines: list[OrderLine]) -> ChannelShipment | None:
    """The channel says the order left without us (the merchant shipped it from the channel's own admin):
    every mapped unit still to ship leaves now on the channel's word, in one shipment. For the order and
    lines the caller has locked (ingest), before its one inventory call: the lines are counted shipped and the
    shipment written shipped here, the stock leaves in the caller's call (`ships`), and
    `channel_shipment_record` writes the rest after it. None when nothing mapped is left to ship or the order
    may not ship (on hold here, cancelled).

    Pending shipments here never left (their label was voided and they were taken back, or none was bought
    yet): on the channel's word they have left, so the oldest becomes the one shipment of what is left (its
    voided labels stay its history), and any other pending one ships as it is. Before, they stayed pending
    beside a new shipment of what they did not hold, and the order stayed partially fulfilled with a stale
    parcel to ship."""
    if order.status not in SHIPPABLE:
        return None
    by_pk = {li.pk: li for li in lines}
    pending = list(Shipment.objects.filter(merchant=merchant, order=order, status=Shipment.Status.PENDING)
                   .prefetch_related("lines").order_by("id"))
    parcels = [_Parcel(shipment=s, lines={sl.order_line_id: sl.quantity for sl in s.lines.all()
                                          if by_pk[sl.order_line_id].product_id is not None},
                       rewrite_lines=True) for s in pending]
    # What is left of each mapped line goes to the other pending parcels as they hold it (never beyond what
    # is left: the channel may have cut a line since), and all the rest to the oldest.
    remaining = {li.pk: li.quantity_outstanding for li in lines if li.product_id is not None}
    for parcel in parcels[1:]:
        taken = {pk: min(q, remaining.get(pk, 0)) for pk, q in parcel.lines.items()}
        parcel.lines = {pk: q for pk, q in taken.items() if q > 0}
        for pk, q in parcel.lines.items():
            remaining[pk] -= q
    rest = {pk: q for pk, q in remaining.items() if q > 0}
    if parcels:
        parcels[0].lines = rest
    elif rest:
        parcels = [_Parcel(shipment=Shipment(merchant=merchant, order=order), lines=rest, is_new=True)]
    parcels = [p for p in parcels if p.units > 0]
    if not parcels:
        return None
    previous, ships = _ship_begin(merchant, order, lines, parcels)
    return ChannelShipment(parcels=parcels, previous=previous, ships=ships, note=_ledger_note(parcels))


def channel_ships_within_stock(*, merchant: Merchant, plan: ChannelShipment) -> None:
    """When the order's one inventory call refused `plan.ships` (OutOfStock: the channel shipped more than is held
    and free here, because our count is behind or the units left from stock we do not track): each ship again
    on its own, cut to what inventory has for it, and what it did not have kept on `plan.not_in_stock` for the
    timeline. A channel's word is recorded, never refused: refusing it failed the whole page of orders.

    The caller then makes its call again without ships. The refused call locked every level these need (in id
    order, in this transaction) and wrote nothing, so these calls wait on no other lock; the extra calls are the
    price of a rare case only."""
    for ship in plan.ships:
        try:
            inventory_services.stock_apply(merchant=merchant, ships=[ship], note=plan.note)
        except OutOfStock as exc:  # a single ship: exc.available is what there is for this one
            plan.not_in_stock[ship.reference] = ship.quantity - exc.available
            if exc.available > 0:
                inventory_services.stock_apply(merchant=merchant, ships=[replace(ship, quantity=exc.available)],
                                               note=plan.note)
    plan.ships = []


def channel_shipment_record(*, merchant: Merchant, order: Order, lines: list[OrderLine], plan: ChannelShipment) -> None:
    """After the caller's inventory call shipped `plan.ships`: the lines, the order and the timeline (the
    channel and the customer are not told: they know), with the units that were not in stock here."""
    _ship_finish(merchant, order, lines, plan.parcels, plan.previous, actor=None, on_channel=True)
    if plan.not_in_stock:
        missing = [{"line": line.pk, "sku": line.sku, "units": plan.not_in_stock[line.reference]}
                   for line in lines if plan.not_in_stock.get(line.reference)]
        _unstocked_write(merchant, plan.parcels, {m["line"]: m["units"] for m in missing})
        OrderEvent.objects.create(
            merchant=merchant, order=order, kind=OrderEvent.Kind.SHORT, data={"not_in_stock": missing},
            message=(f"Shipped on the channel beyond the stock here: {units_words(missing)} were not in stock "
                     "(not taken from stock: check its count)")[:500])


def _unstocked_write(merchant: Merchant, parcels: Sequence[_Parcel], units: dict[int, int]) -> None:
    """Record on the parcels' shipment lines {order line id: units} that did not leave stock (in parcel order,
    never more than a line's quantity), so taking a parcel back or a return gives back only what left. One UPDATE
    per short shipment line: this runs only when a channel shipped beyond our stock."""
    left = dict(units)
    for parcel in parcels:
        for pk, quantity in sorted(parcel.lines.items()):
            take = min(quantity, left.get(pk, 0))
            if take > 0:
                ShipmentLine.objects.filter(merchant=merchant, shipment_id=parcel.shipment.pk,
                                            order_line_id=pk).update(quantity_unstocked=take)
                left[pk] -= take


@retry_transaction
def order_shipped_on_channel(*, merchant: Merchant, order: Order) -> Shipment | None:
    """`channel_shipment_plan` for an order nobody holds: locked here, its stock shipped in one inventory call.
    Returns the shipment of what was left (None when nothing was)."""
    locked, lines = order_lock_with_lines(merchant=merchant, order_id=order.pk)
    plan = channel_shipment_plan(merchant=merchant, order=locked, lines=lines)
    if plan is None:
        return None
    try:
        reservations_reconcile(merchant=merchant, order=locked, lines=lines, save=False, note=plan.note,
                               ships=plan.ships)
    except OutOfStock:
        channel_ships_within_stock(merchant=merchant, plan=plan)
        reservations_reconcile(merchant=merchant, order=locked, lines=lines, save=False, note=plan.note)
    channel_shipment_record(merchant=merchant, order=locked, lines=lines, plan=plan)
    return plan.parcels[0].shipment


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
