"""The one interface every channel adapter speaks; the sync engine, tasks, views and API know only this.

Plain dataclasses and no ORM: an adapter is built from the integration's decrypted credentials
(`adapter_for` in integrations/channels/__init__.py) and hands back these shapes; the caller persists.
Every method raises only the core.http error family (Throttled, Transient, AuthFailed, Rejected).
Ids are the channel's own numeric ids as strings, the same whether they came from a poll or a webhook.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from orders.normalized import NormalizedOrder

T = TypeVar("T")

ChannelCredentials = dict  # the decrypted credentials blob, channel-specific keys
CredentialsChanged = Callable[[dict], None]


@dataclass(frozen=True)
class ChannelLocation:
    external_id: str
    name: str
    is_primary: bool


@dataclass(frozen=True)
class ConnectionReport:
    shop_name: str
    scopes: list[str]
    missing_scopes: list[str]
    locations: list[ChannelLocation]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None  # None: this was the last page


@dataclass(frozen=True)
class ChannelListing:
    external_id: str  # the variant/listing id
    inventory_item_id: str
    sku: str
    title: str
    quantity: int | None  # what the channel shows now, when it says


@dataclass(frozen=True)
class QuantityPush:
    listing_external_id: str
    inventory_item_id: str
    location_external_id: str
    quantity: int
    previous_quantity: int | None  # what we believe the channel holds (compare-and-set); None = unknown


@dataclass(frozen=True)
class PushResult:
    listing_external_id: str
    ok: bool
    error: str = ""  # the channel's reason when ok is False
    channel_quantity: int | None = None  # the channel's quantity after the push, when known


@dataclass(frozen=True)
class TrackingPush:
    order_external_id: str
    lines: list[tuple[str, int]]  # (line_external_id, quantity); empty = every unfulfilled line
    carrier: str
    tracking_number: str
    tracking_url: str = ""
    previous_fulfillment_id: str | None = None  # set after a void and re-ship: update, do not create


@dataclass(frozen=True)
class TrackingResult:
    fulfillment_id: str


@dataclass(frozen=True)
class WebhookSubscription:
    id: str
    topic: str  # the REST-style topic, e.g. "orders/create"
    url: str


@dataclass
class ChannelAdapter(ABC):
    """One integration's connection to its channel. Subclasses set the class attributes and implement
    every method; the constructor arguments are what `adapter_for` passes."""

    required_scopes: ClassVar[tuple[str, ...]] = ()
    webhook_topics: ClassVar[tuple[str, ...]] = ()
    # How often the sync engine polls orders behind the webhooks (jittered ±20%).
    poll_interval_seconds: ClassVar[float] = 300.0

    credentials: dict
    budget_key: str
    on_credentials_changed: CredentialsChanged = field(default=lambda credentials: None)

    @abstractmethod
    def test_connection(self) -> ConnectionReport: ...

    @abstractmethod
    def fetch_listings(self, cursor: str | None = None) -> Page[ChannelListing]: ...

    @abstractmethod
    def fetch_orders(self, updated_since: datetime | None, cursor: str | None = None) -> Page[NormalizedOrder]: ...

    @abstractmethod
    def push_quantities(self, items: list[QuantityPush]) -> list[PushResult]: ...

    @abstractmethod
    def push_tracking(self, push: TrackingPush) -> TrackingResult: ...

    @abstractmethod
    def webhooks_register(self, url: str, topics: list[str]) -> list[WebhookSubscription]: ...

    @abstractmethod
    def webhooks_list(self) -> list[WebhookSubscription]: ...

    @abstractmethod
    def webhooks_remove(self, ids: list[str]) -> None: ...
