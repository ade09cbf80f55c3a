"""What every carrier adapter speaks: our dataclasses in, our dataclasses out, `core.http`'s error family
for every failure. Units here are ours (grams, millimetres, Decimal money); a carrier's own units
(EasyPost's ounces and inches) are converted once, inside its package's mapping.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Address:
    """core.address's shape plus what labels need (phone, email)."""

    name: str = ""
    company: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Parcel:
    weight_grams: int
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None


@dataclass(frozen=True)
class CustomsLine:
    """One product of an international parcel as customs read it. Our units: `unit_value` in `currency`
    per unit, `unit_weight_grams` per unit; each carrier's mapping writes its own shape (totals or per
    unit, ounces or grams)."""

    sku: str
    description: str
    quantity: int
    unit_value: Decimal
    currency: str
    unit_weight_grams: int
    origin_country: str
    hs_code: str = ""


@dataclass(frozen=True)
class LabelRequest:
    """One parcel to rate or buy: `reference` is ours (the order number), shown on the carrier's side.
    `customs` is given when the parcel crosses a border (ship-from and ship-to countries differ)."""

    reference: str
    ship_from: Address
    ship_to: Address
    parcel: Parcel
    label_format: str = "PDF"  # PDF, PNG or ZPL
    customs: tuple[CustomsLine, ...] = ()

    @property
    def is_international(self) -> bool:
        return bool(self.ship_from.country and self.ship_to.country and self.ship_from.country != self.ship_to.country)


@dataclass(frozen=True)
class Rate:
    """One price a carrier offers. `external_id` is the carrier's rate id; `carrier_data` is what the
    adapter needs again to buy it (EasyPost's shipment id), stored and handed back, never read outside."""

    external_id: str
    carrier: str
    service: str
    amount: Decimal
    currency: str
    delivery_days: int | None = None
    carrier_data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RateQuote:
    """The rates one account offers, and the carriers' reasons (word for word) for those it cannot give."""

    rates: list[Rate]
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PurchasedLabel:
    external_id: str  # the carrier's id for what was bought (EasyPost's shipment, ShipStation's label)
    tracking_number: str
    carrier: str
    service: str
    cost_amount: Decimal
    currency: str
    label_url: str  # where the file is (downloaded once, then kept in our storage)
    label_format: str
    tracking_url: str = ""
    carrier_data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VoidResult:
    is_accepted: bool
    status: str  # the carrier's word ("submitted", "refunded", "approved")
    message: str = ""


@dataclass(frozen=True)
class TrackingInfo:
    """Where a parcel is, in our words (Shipment.TrackingStatus's values; "" when the carrier's status is
    one we do not know: nothing changes), with the carrier's latest event."""

    status: str
    description: str = ""
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class ConnectionInfo:
    account_name: str
    carriers: list[str] = field(default_factory=list)


class CarrierAdapter(ABC):
    """One carrier account's client. Built from its decrypted credentials; raises only core.http's
    ExternalError family (AuthFailed, Rejected with the carrier's words, Throttled, Transient)."""

    def __init__(self, credentials: Mapping[str, Any], *, budget_key: str, timeout: float | None = None) -> None:
        self.credentials = dict(credentials)
        self.budget_key = budget_key
        self.timeout = timeout

    @abstractmethod
    def test_connection(self) -> ConnectionInfo:
        """A cheap authenticated call proving the credentials work."""

    @abstractmethod
    def rates(self, request: LabelRequest) -> RateQuote:
        """Every rate the account offers for the parcel; reasons for the carriers that cannot rate it."""

    @abstractmethod
    def buy(self, request: LabelRequest, rate: Rate, *, idempotency_key: str) -> PurchasedLabel:
        """Buy `rate` exactly once in effect: called again with the same rate and key after a lost answer,
        it returns the label already bought instead of buying a second."""

    @abstractmethod
    def void(self, label: PurchasedLabel) -> VoidResult:
        """Ask the carrier to refund the label; raises Rejected (with its words) when it refuses."""

    @abstractmethod
    def label_file(self, label: PurchasedLabel) -> bytes:
        """The label's bytes, fetched once to be kept in our storage."""

    def track(self, label: PurchasedLabel) -> TrackingInfo:
        """Where the parcel is now; the adapters of carriers that are polled (no tracking webhooks for
        our labels) override this, and their package says `polls_tracking=True`."""
        raise NotImplementedError(f"{type(self).__name__} does not poll tracking")

    def webhooks_ensure(self, url: str | None, *, secret: str) -> None:  # noqa: B027 - optional hook
        """Make sure the carrier delivers tracking events to `url` signed with `secret` (None: remove)."""
