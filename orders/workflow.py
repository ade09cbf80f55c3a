"""The order state machine, in one place. Services ask it before moving an order.

    unfulfilled ─▶ partially_fulfilled ─▶ fulfilled ─▶ returned
         │  ▲            │  ▲   │
         ▼  │            ▼  │   ▼
        on_hold ◀────────┘  │  returned
         │                  │
         ▼                  │
      cancelled ◀───────────┘ (cancelling a partly shipped order cancels the rest)

    awaiting_payment ─▶ unfulfilled (paid on the channel)      awaiting_payment ─▶ cancelled

Channel updates move an order by what is left to ship: a line dropped or cut to what has shipped
makes it fulfilled; units added to a fulfilled order make it partially fulfilled again.

An illegal move raises IllegalTransition (409 with current and requested state).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.utils.translation import ngettext

from accounts.models import Merchant
from core.errors import NotFound
from orders.errors import IllegalTransition
from orders.models import Order, OrderLine, Shipment, ShipmentLine
from orders.models import OrderStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.UNFULFILLED: frozenset({S.PARTIALLY_FULFILLED, S.FULFILLED, S.ON_HOLD, S.CANCELLED}),
    # A second partial shipment keeps an order partially fulfilled: the one allowed self-loop.
    S.PARTIALLY_FULFILLED: frozenset({S.PARTIALLY_FULFILLED, S.FULFILLED, S.ON_HOLD, S.CANCELLED, S.RETURNED}),
    # The channel may add to an order that has shipped in full (a quantity raised, a line added):
    # it has something to ship again. Only ingest takes this move.
    S.FULFILLED: frozenset({S.RETURNED, S.PARTIALLY_FULFILLED}),
    # Releasing a hold goes where the shipments say; fulfilled when the channel cut what was left meanwhile.
    S.ON_HOLD: frozenset({S.UNFULFILLED, S.PARTIALLY_FULFILLED, S.FULFILLED, S.CANCELLED}),
    # Payment arriving makes it an order to ship (ingest); it may also be cancelled unpaid.
    S.AWAITING_PAYMENT: frozenset({S.UNFULFILLED, S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
}


def can_transition(current: str, requested: str) -> bool:
    return requested in TRANSITIONS.get(current, frozenset())


def status_label(status: str) -> str:
    """"Partially fulfilled" for "partially_fulfilled": what a merchant reads (never the raw slug)."""
    try:
        return S(status).label
    except ValueError:
        return str(status)


def status_change_words(previous: str, new: str) -> str:
    """"Unfulfilled → Partially fulfilled": a status change as the timeline says it (labels, never slugs)."""
    return f"{status_label(previous)} → {status_label(new)}"


def illegal(current: str, requested: str) -> IllegalTransition:
    """The 409, its message in the statuses' labels ("on hold", not "on_hold"); details keep the values."""
    return IllegalTransition(current=str(current), requested=str(requested),
                             message=f"An order that is {status_label(current).lower()} cannot become "
                                     f"{status_label(requested).lower()}.")


def check_transition(current: str, requested: str) -> None:
    """Raise IllegalTransition unless the workflow allows current → requested."""
    if not can_transition(current, requested):
        raise illegal(current, requested)


def allowed_actions(current: str) -> frozenset[str]:
    return TRANSITIONS.get(current, frozenset())


# -- status sets: every service, selector and page asks these ------------------------------------

# Shipping moves an order forward only from these states: on hold means "do not ship", even though
# releasing a hold may also lead to partially_fulfilled.
SHIPPABLE: frozenset[str] = frozenset({S.UNFULFILLED, S.PARTIALLY_FULFILLED})
# Still to be shipped or decided: holds its reservations, may be topped up when stock arrives.
OPEN: frozenset[str] = frozenset({S.UNFULFILLED, S.PARTIALLY_FULFILLED, S.ON_HOLD})
# Over: holds nothing, and a line added by the channel is cancelled with it.
INACTIVE: frozenset[str] = frozenset({S.CANCELLED, S.RETURNED})
# Not paid yet: holds nothing and is in no shipping tab, but is still work (the queue and home page count it).
UNPAID: frozenset[str] = frozenset({S.AWAITING_PAYMENT})
# Holds no stock: over, or not paid yet.
HOLDS_NOTHING: frozenset[str] = INACTIVE | UNPAID
# The queue's work: still to be paid, shipped or decided (its tab counts and the home page count these).
WORK: frozenset[str] = OPEN | UNPAID
# Where what has shipped and what is left decide the status; hold, cancelled and returned stay as they are.
FLOWING: frozenset[str] = frozenset({S.UNFULFILLED, S.PARTIALLY_FULFILLED, S.FULFILLED})


def check_fulfillment(current: str, requested: str) -> None:
    """Raise IllegalTransition unless a shipment may move the order from current to requested."""
    if current not in SHIPPABLE:
        raise illegal(current, requested)
    if requested != current:
        check_transition(current, requested)


def status_after_fulfillment(lines: Sequence[OrderLine]) -> str:
    """What shipping has made of the order: nothing left to ship → fulfilled."""
    shipped = sum(li.quantity_fulfilled for li in lines)
    left = sum(li.quantity_outstanding for li in lines)
    if left == 0 and shipped > 0:
        return S.FULFILLED
    return S.PARTIALLY_FULFILLED if shipped > 0 else S.UNFULFILLED


def pending_quantities(shipment_lines: Iterable[tuple[int, int]]) -> dict[int, int]:
    """{line id: units in shipments not yet shipped}, from (order line id, quantity) of pending shipments' lines."""
    out: dict[int, int] = {}
    for line_id, quantity in shipment_lines:
        out[line_id] = out.get(line_id, 0) + quantity
    return out


def pending_in(shipments: Iterable[Shipment]) -> dict[int, int]:
    """pending_quantities of shipments already loaded with their lines (the order page, the API)."""
    return pending_quantities((sl.order_line_id, sl.quantity) for s in shipments
                              if s.status == Shipment.Status.PENDING for sl in s.lines.all())


def unstocked_quantities(*, merchant: Merchant, order: Order) -> dict[int, int]:
    """{line id: units its shipped shipments counted shipped that never left stock here} (the channel shipped
    beyond what was held: ShipmentLine.quantity_unstocked). A return gives stock back only what did leave."""
    rows = (ShipmentLine.objects.filter(merchant=merchant, shipment__order=order, quantity_unstocked__gt=0,
                                        shipment__status=Shipment.Status.SHIPPED)
            .values_list("order_line_id", "quantity_unstocked"))
    out: dict[int, int] = {}
    for line_id, units in rows:
        out[line_id] = out.get(line_id, 0) + units
    return out


def units_words(missing: Iterable[Mapping]) -> str:
    """"3 units of S-1, 1 unit of B-1" from {"sku", "units"} rows (timeline rows about units not in stock)."""
    return ", ".join(ngettext("%(n)s unit of %(sku)s", "%(n)s units of %(sku)s", m["units"])
                     % {"n": m["units"], "sku": m["sku"]} for m in missing)


def left_to_ship(lines: Sequence[OrderLine], pending: Mapping[int, int]) -> dict[int, int]:
    """{line id: units a new shipment may still take}: what is outstanding less what pending (not yet
    shipped) shipments already hold. The ship form, the API default and shipment_create all ask this."""
    return {li.pk: max(0, li.quantity_outstanding - pending.get(li.pk, 0)) for li in lines}


def order_lock_with_lines(*, merchant: Merchant, order_id: int) -> tuple[Order, list[OrderLine]]:
    """The order row, locked, and its lines in page order: every public service that writes an order starts
    here, once, and hands both to its private steps (the order's lock guards its lines and shipments).
    Another merchant's id is NotFound."""
    rows = list(Order.objects.select_for_update(of=("self",)).filter(merchant=merchant, pk=order_id).order_by()[:1])
    if not rows:
        raise NotFound("No such order.")
    # With their products: the order's one inventory call takes them instead of reading them again.
    lines = list(OrderLine.objects.filter(merchant=merchant, order_id=order_id).select_related("product")
                 .order_by("position", "id"))
    return rows[0], lines


def cancel_remaining(*, merchant: Merchant, order: Order, lines: Sequence[OrderLine]) -> None:
    """What has not shipped never will (cancelled by us or the channel, or the order came back): each line's
    remainder is cancelled and pending shipments go away. Shipped units and shipments stay as they are;
    releasing the stock is the reconcile that follows."""
    for line in lines:
        line.quantity_cancelled = line.quantity - line.quantity_fulfilled
    OrderLine.objects.bulk_update(lines, ["quantity_cancelled", "updated_at"])
    Shipment.objects.filter(merchant=merchant, order=order, status=Shipment.Status.PENDING).delete()
