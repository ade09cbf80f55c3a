"""The order state machine, in one place. Services ask it before moving an order.

    unfulfilled ─▶ partially_fulfilled ─▶ fulfilled ─▶ returned
         │  ▲            │  ▲   │
         ▼  │            ▼  │   ▼
        on_hold ◀────────┘  │  returned
         │                  │
         ▼                  │
      cancelled ◀───────────┘ (cancelling a partly shipped order cancels the rest)

Channel updates move an order by what is left to ship: a line dropped or cut to what has shipped
makes it fulfilled; units added to a fulfilled order make it partially fulfilled again.

An illegal move raises IllegalTransition (409 with current and requested state).
"""

from __future__ import annotations

from orders.errors import IllegalTransition
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
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
}


def can_transition(current: str, requested: str) -> bool:
    return requested in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, requested: str) -> None:
    """Raise IllegalTransition unless the workflow allows current → requested."""
    if not can_transition(current, requested):
        raise IllegalTransition(current=str(current), requested=str(requested))


def allowed_actions(current: str) -> frozenset[str]:
    return TRANSITIONS.get(current, frozenset())


# Shipping moves an order forward only from these states: on hold means "do not ship", even though
# releasing a hold may also lead to partially_fulfilled.
SHIPPABLE: frozenset[str] = frozenset({S.UNFULFILLED, S.PARTIALLY_FULFILLED})


def check_fulfillment(current: str, requested: str) -> None:
    """Raise IllegalTransition unless a shipment may move the order from current to requested."""
    if current not in SHIPPABLE:
        raise IllegalTransition(current=str(current), requested=str(requested))
    if requested != current:
        check_transition(current, requested)
