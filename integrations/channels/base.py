"""The one interface every channel adapter speaks; the sync engine, tasks, views and API know only this.

Plain dataclasses and no ORM: an adapter is built from the integration's decrypted credentials
(`adapter_for` in integrations/channels/__init__.py) and hands back these shapes; the caller persists.
Every method raises only the core.http error family (Throttled, Transient, AuthFailed, Rejected).
Ids are the channel's own ids as strings, the same whether they came from a poll or a webhook.

No channel's vocabulary crosses this line: what a channel needs to find a listing's stock again (one
channel's inventory item, another's parent product, a third's product type) travels as
`channel_ref` plus an opaque `channel_data` dict that the engine stores and hands back, never reads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from core.http import Rejected
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
    # What only a live call can tell about the account, for the doctor: (code, severity, message, fix), e.g.
    # an account that does not sell where the store says, or a permission the channel grants by role, not scope.
    findings: list[tuple[str, str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None  # None: this was the last page


@dataclass(frozen=True)
class ChannelListing:
    external_id: str  # the listing's id on the channel (a variant, a variation, a seller SKU)
    channel_ref: str  # the channel's handle of the listing's stock, when it differs from external_id
    sku: str
    title: str
    quantity: int | None  # what the channel shows now, when it says
    channel_data: dict = field(default_factory=dict)  # opaque; stored on the Listing and handed back on push


@dataclass(frozen=True)
class QuantityPush:
    listing_external_id: str
    channel_ref: str
    location_external_id: str  # "" for a channel without locations (has_locations False)
    quantity: int
    previous_quantity: int | None  # what we believe the channel holds (compare-and-set); None = unknown
    channel_data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PushResult:
    """One item's outcome. A channel that processes pushes later (a feed) answers `pending_ref` instead:
    the engine stores it and asks `push_results` until the channel has decided (ok or refused)."""

    listing_external_id: str
    ok: bool
    error: str = ""  # the channel's reason when ok is False
    channel_quantity: int | None = None  # the channel's quantity after the push, when known
    pending_ref: str = ""  # set: accepted, not decided yet (ok is meaningless until push_results says)
    # Failed, but not because the channel refused this item (a whole feed that died, an outage): the engine
    # records the error and sends the quantity again on the next push instead of holding it as refused.
    retryable: bool = False


@dataclass(frozen=True)
class TrackingPush:
    order_external_id: str
    lines: list[tuple[str, int]]  # (line_external_id, quantity); empty = every unfulfilled line
    carrier: str
    tracking_number: str
    tracking_url: str = ""
    previous_fulfillment_id: str | None = None  # set after a void and re-ship: update, do not create
    is_final: bool = False  # nothing of the order is left to ship after this shipment
    shipped_at: datetime | None = None
    service: str = ""  # the carrier's service, as the shipment names it
    channel_data: dict = field(default_factory=dict)  # the order's, as its adapter gave it at ingest


@dataclass(frozen=True)
class TrackingResult:
    fulfillment_id: str


@dataclass(frozen=True)
class WebhookSubscription:
    id: str
    topic: str  # the channel's topic name
    url: str


@dataclass(frozen=True)
class SubscriptionReport:
    """What `subscriptions_ensure` found and did: the topics subscribed now, those still missing, and
    why (a channel that needs a URL cannot subscribe without one). Kept in checkpoints for the doctor."""

    ok: bool
    topics: list[str]
    missing: list[str]
    target: str = ""  # where deliveries go: our URL, or the channel's queue
    reason: str = ""
    created: list[str] = field(default_factory=list)  # topics subscribed on this check
    # topics whose subscription the channel had switched off (a store disables a webhook whose deliveries
    # keep failing) and this check switched on again
    reactivated: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BulkExport:
    """A channel-side export of every order in a window, run by the channel while we wait (a channel that
    can hand over its history as one file instead of pages). `state` is one of BULK_STATES; `url` is where
    the finished file is (the partial file of a failed export when the channel keeps one)."""

    id: str
    state: str  # "running" | "completed" | "failed" | "canceled" | "expired"
    url: str = ""
    partial_url: str = ""
    object_count: int = 0
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.state != "running"


BULK_STATES = ("running", "completed", "failed", "canceled", "expired")


class BulkFileGone(Rejected):
    """The export's file is no longer where the channel said (its signed URL lapsed or was withdrawn): not a
    refusal of our credentials. The engine asks the export's state again and pages when it has expired."""


@dataclass(frozen=True)
class BulkOrder:
    """One order read from a bulk export's file, and where a reader resuming after it starts (a byte
    offset into the file: the first byte of the next order)."""

    order: NormalizedOrder
    resume_offset: int


@dataclass
class ChannelAdapter(ABC):
    """One integration's connection to its channel. Subclasses set the class attributes and implement
    every method; the constructor arguments are what `adapter_for` passes."""

    required_scopes: ClassVar[tuple[str, ...]] = ()
    webhook_topics: ClassVar[tuple[str, ...]] = ()
    # Whether stock is kept per location on the channel (a push names one); False: one quantity per listing.
    has_locations: ClassVar[bool] = True
    # How often the sync engine polls orders behind the webhooks (jittered ±20%).
    poll_interval_seconds: ClassVar[float] = 300.0

    credentials: dict
    budget_key: str
    on_credentials_changed: CredentialsChanged = field(default=lambda credentials: None)
    # A merchant is waiting on the answer ("Test connection"): one short attempt, not the background
    # retry budget.
    interactive: bool = False

    @abstractmethod
    def test_connection(self) -> ConnectionReport: ...

    # ---- optional: a bulk export of the order history (a backfill too big to page through)
    # A channel that can export its orders as a file sets this and overrides the four methods below;
    # the sync engine uses them for a first backfill larger than BULK_BACKFILL_THRESHOLD orders.
    supports_bulk_export: ClassVar[bool] = False

    def orders_count(self, updated_since: datetime | None) -> int | None:
        """How many orders fetch_orders(updated_since) would give, when the channel can count them cheaply;
        None when it cannot."""
        return None

    def bulk_export_start(self, updated_since: datetime | None, notify_url: str | None) -> BulkExport:
        """Ask the channel to export every order updated since `updated_since` (with its lines); it calls
        `notify_url` back when the export finishes, where it can."""
        raise NotImplementedError(f"{type(self).__name__} has no bulk export")

    def bulk_export_status(self, export_id: str) -> BulkExport:
        """The export's state as the channel reports it now."""
        raise NotImplementedError(f"{type(self).__name__} has no bulk export")

    def bulk_export_orders(self, export: BulkExport, offset: int = 0) -> Iterator[BulkOrder]:
        """The finished export's orders, streamed from its file from byte `offset` (0, or a `resume_offset`
        an earlier reader handed out), one order at a time and never the whole file in memory."""
        raise NotImplementedError(f"{type(self).__name__} has no bulk export")

    @abstractmethod
    def fetch_listings(self, cursor: str | None = None) -> Page[ChannelListing]: ...

    @abstractmethod
    def fetch_orders(self, updated_since: datetime | None, cursor: str | None = None) -> Page[NormalizedOrder]: ...

    @abstractmethod
    def fetch_order(self, external_id: str) -> NormalizedOrder | None:
        """One order by its external id, as fetch_orders gives it; None when the channel has none."""

    @abstractmethod
    def push_quantities(self, items: list[QuantityPush]) -> list[PushResult]:
        """One result per item, in item order; an item may come back pending (`pending_ref`)."""

    def push_results(self, refs: list[str]) -> list[PushResult]:
        """The outcome of pending pushes, one per ref in order; a result still pending carries its ref.
        Only a channel whose pushes are asynchronous answers pending refs, so only it overrides this."""
        raise NotImplementedError(f"{type(self).__name__} pushes synchronously and has no pending refs")

    @abstractmethod
    def push_tracking(self, push: TrackingPush) -> TrackingResult:
        """Exactly once in effect: the same tracking pushed twice fulfils once."""

    @abstractmethod
    def subscriptions_ensure(self, url: str | None) -> SubscriptionReport:
        """Make sure the channel delivers every topic we need (to `url`, or to the channel's own queue);
        what is subscribed already is kept, what is missing is made. `url` None: no public address."""

    @abstractmethod
    def subscriptions_remove(self, url: str | None) -> int:
        """Remove our subscriptions (those to `url`, or all of ours when None); how many went."""
