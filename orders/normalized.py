"""The one shape every channel adapter produces: no channel field names cross this line.

Adapters (integrations/channels/<channel>/mapping.py) turn a marketplace payload into a
NormalizedOrder; orders.services.order_ingest upserts it. Plain dataclasses so mapping code
stays pure and testable with recorded payloads.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

_SCALARS = (str, int, float, Decimal, datetime, type(None))  # bool is an int
_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _plain(value: Any) -> Any:
    """What dataclasses.asdict makes of a value once it is dumped to JSON: dataclasses as dicts of their fields,
    lists and tuples as lists, dicts with their values made plain, anything else as it is."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _field_names(type(value))}
    return value


@dataclass(frozen=True)
class NormalizedAddress:
    name: str = ""
    company: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""  # ISO 3166-1 alpha-2
    phone: str = ""

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in _field_names(NormalizedAddress)}  # asdict, without its deep copy


@dataclass(frozen=True)
class NormalizedLine:
    external_id: str  # the channel's line id; stable across updates of the same order
    sku: str
    quantity: int
    unit_price: Decimal = Decimal("0")
    title: str = ""


# Fields of NormalizedOrder added after fingerprints were first stored, with their empty values: left out of the
# fingerprint while empty, so an order stored before they existed keeps its fingerprint (and its next unchanged
# delivery stays "unchanged").
FINGERPRINT_ADDED_LATER: tuple[tuple[str, Any], ...] = (
    ("requested_service", ""), ("ship_by", None), ("channel_data", {}), ("awaiting_payment", False),
    ("channel_hold", False), ("shipped_on_channel", False), ("is_refunded", False))


@dataclass(frozen=True)
class NormalizedOrder:
    channel: str  # a slug registered in orders.channels (by its package in integrations/channels/), or "manual"
    external_id: str
    number: str
    placed_at: datetime
    lines: tuple[NormalizedLine, ...] | list[NormalizedLine]
    currency: str = "USD"
    channel_updated_at: datetime | None = None
    customer_name: str = ""
    customer_email: str = ""
    shipping_address: NormalizedAddress = field(default_factory=NormalizedAddress)
    subtotal: Decimal = Decimal("0")
    shipping: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    payment_status: str = ""  # the channel's own words, kept as given
    fulfillment_status: str = ""
    is_cancelled: bool = False
    # Placed but not paid (a channel's pending or failed payment): the order waits as awaiting_payment,
    # holding nothing, until a later state of it arrives paid.
    awaiting_payment: bool = False
    # The channel holds the order (e.g. awaiting a payment the merchant confirms by hand on the channel):
    # not to ship, but it keeps its reservations; released when a later state arrives without the hold.
    # A hold the merchant put on here is the merchant's: the channel neither sets nor releases it.
    channel_hold: bool = False
    # The channel says the order left without us (shipped from the channel's own admin or another tool):
    # what is still to ship here ships on its word (stock leaves; nothing is told back to the channel).
    shipped_on_channel: bool = False
    # The channel gave the money back: cancelled when nothing has shipped, returned when something has.
    is_refunded: bool = False
    # What the buyer was promised, when the channel says: the shipping they chose (its title, as the
    # channel shows it) and the time by which the order must ship. Without a promise the merchant's
    # default ship-by applies (orders.services.ship_by).
    requested_service: str = ""
    ship_by: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the channel payload, kept for audit
    # What the channel's adapter needs later to act on this order (tracking back): opaque here, stored
    # on the order as given and handed back in the adapter's TrackingPush.
    channel_data: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A hash of everything but the raw payload: the same order twice has the same fingerprint."""
        # What asdict() makes of every field but the raw payload, built directly: asdict's generic deep copy was
        # most of a fingerprint's time, and a page of 250 orders computes 250 of them. The JSON is byte for byte
        # what it was (tests/orders/test_normalized.py), so stored fingerprints still match.
        data = {name: _plain(getattr(self, name)) for name in _field_names(type(self)) if name != "raw"}
        for name, empty in FINGERPRINT_ADDED_LATER:
            if data.get(name) == empty:
                data.pop(name, None)
        blob = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()
