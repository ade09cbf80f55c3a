"""What apps above inventory plug into it, registered from their AppConfig.ready().

- `availability_consumers`: who reads the availability outbox. Each stock change marks the
  products it touched once per registered consumer (orders tops up short orders; integrations
  pushes quantities to channels once it has a consumer). A name nobody registered gets no marks,
  so no mark piles up unread. A consumer may pass `on_marked(merchant_id)`: inventory calls it
  after the marking transaction commits, so the consumer can schedule its work at once (integrations
  enqueues a debounced stock push) instead of waiting for its periodic fan-out.
- `low_stock_notifiers`: who hears that products went low. Inventory emails the merchant's
  owners itself unless an app that owns notification choices registers a notifier, called as
  `notifier(merchant=..., products=[{"product_id", "sku", "title", "available", "threshold"}])`
  and returning "ok" or why nothing was sent. At most one may be registered.
- `product_listing_sources`: who lists a product in a store (integrations: each store's listing with the
  last quantity pushed and when), for the product page; called as `source(merchant, product_id)`.
- `reservation_holders`: apps whose references hold reservations (orders: "order_line:<id>") and
  must hear when inventory takes units back on its own: a stocktake that counts fewer units than
  are reserved releases the newest reservations to fit. Inventory calls `lock(merchant, references)`
  before it locks any level (the holder locks its own rows, in id order, as it does before every
  stock call: one lock order everywhere) and gets back {reference: when it was promised} to release
  the newest first; then, in the same transaction, `released(merchant, {reference: units still held})`.
  A reservation made after that first read is found under the level lock: inventory then calls
  `lock(merchant, references, nowait=True)`, and the holder must not wait for a row someone else has
  locked (SELECT ... FOR UPDATE NOWAIT: PostgreSQL's lock_not_available error); inventory then gives
  back every lock and starts the count again, this holder first.
- `reference_links`: what a stock movement's reference points at, for the ledger on the product page
  ("order_line:12" → the order's page). Registered by prefix (the part before the first ":"); a source is
  called once per page as `source(merchant, references)` with every reference of that prefix on the page
  and returns {reference: ReferenceLink} for those it knows (one query, not one per row). Inventory
  registers its own (imports, transfers); a reference nobody links is shown as it is.
- `alias_stores`: what a store is to SKU aliases (SkuAlias.store_key). Inventory knows no store; the app
  that does (orders, which names stores by integration id) registers `key(store_id) -> store_key`,
  `store_of(store_key) -> store id | None` and `exists(merchant, store_id) -> bool`, so the SKU-alias API
  can speak of stores by id. At most one may be registered; with none, aliases are merchant-wide only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.registry import Registry


@dataclass(frozen=True)
class AvailabilityConsumer:
    name: str  # the AvailabilityMark.consumer value it takes and acknowledges
    description: str = ""
    on_marked: Callable[[int], None] | None = None  # called with the merchant id after the marks commit


LowStockNotifier = Callable[..., str]


@dataclass(frozen=True)
class ReservationHolder:
    prefix: str  # the references it owns start with this, e.g. "order_line:"
    lock: Callable[..., Mapping[str, datetime]]  # (merchant, references, *, nowait=False) -> promised at
    released: Callable[[Any, Mapping[str, int]], None]  # (merchant, {reference: units still held})

@dataclass(frozen=True)
class ProductListing:
    """One store's listing of a product, as the product page shows it (inventory knows no store: an app
    above registers a source in `product_listing_sources`)."""

    store: str  # the store's name
    title: str
    sku: str
    last_pushed_quantity: int | None
    last_pushed_at: datetime | None
    channel_quantity: int | None  # what the store showed last
    url: str  # where the listing is managed (the store's page)
    error: str = ""  # the store's reason for a refused push


ProductListingSource = Callable[[Any, int], list[ProductListing]]  # (merchant, product id) -> listings

@dataclass(frozen=True)
class ReferenceLink:
    """A ledger reference in words, and the page of what it names ("Order #1001", "/orders/7/")."""

    label: str
    url: str = ""


ReferenceLinkSource = Callable[[Any, list[str]], Mapping[str, ReferenceLink]]  # (merchant, references)

availability_consumers: Registry[AvailabilityConsumer] = Registry("inventory.availability_consumers")
low_stock_notifiers: Registry[LowStockNotifier] = Registry("inventory.low_stock_notifiers")
reservation_holders: Registry[ReservationHolder] = Registry("inventory.reservation_holders")
product_listing_sources: Registry[ProductListingSource] = Registry("inventory.product_listing_sources")
reference_links: Registry[ReferenceLinkSource] = Registry("inventory.reference_links")


def reference_links_for(merchant: Any, references: list[str]) -> dict[str, ReferenceLink]:
    """{reference: ReferenceLink} for the references some registered source knows, one call per prefix."""
    by_prefix: dict[str, list[str]] = {}
    for ref in dict.fromkeys(r for r in references if r and ":" in r):
        by_prefix.setdefault(ref.split(":", 1)[0], []).append(ref)
    out: dict[str, ReferenceLink] = {}
    for prefix, refs in by_prefix.items():
        source = reference_links.get(prefix)
        if source is not None:
            out.update(source(merchant, refs))
    return out


def product_listings(merchant: Any, product_id: int) -> list[ProductListing]:
    """Every registered source's listings of the product (the product page's "In your stores")."""
    return [listing for source in product_listing_sources.values() for listing in source(merchant, product_id)]


def reservation_holder_register(name: str, *, prefix: str, lock: Callable, released: Callable) -> ReservationHolder:
    return reservation_holders.register(name, ReservationHolder(prefix=prefix, lock=lock, released=released))


def reservation_holder_for(reference: str) -> ReservationHolder | None:
    return next((h for h in reservation_holders.values() if reference.startswith(h.prefix)), None)


def availability_consumer_register(name: str, description: str = "", *,
                                   on_marked: Callable[[int], None] | None = None) -> AvailabilityConsumer:
    return availability_consumers.register(name, AvailabilityConsumer(name=name, description=description,
                                                                      on_marked=on_marked))


def low_stock_notifier() -> LowStockNotifier | None:
    """The registered notifier, or None for inventory's own email to the owners."""
    return low_stock_notifiers.only("decide who hears about low stock")


@dataclass(frozen=True)
class AliasStores:
    key: Callable[[int | None], str]  # a store's id (None: every store) -> SkuAlias.store_key
    store_of: Callable[[str], int | None]  # SkuAlias.store_key -> the store's id (None: every store)
    exists: Callable[[Any, int], bool]  # (merchant, store id) -> whether it is one of the merchant's stores


alias_stores: Registry[AliasStores] = Registry("inventory.alias_stores")


def alias_stores_register(name: str, *, key: Callable, store_of: Callable, exists: Callable) -> AliasStores:
    return alias_stores.register(name, AliasStores(key=key, store_of=store_of, exists=exists))


def alias_stores_get() -> AliasStores | None:
    """The registered store vocabulary, or None (aliases are then merchant-wide only)."""
    return alias_stores.only("name stores to SKU aliases")
