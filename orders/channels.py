"""Which channels orders can come from, as far as orders needs to know: a slug, a label, a colour.

Orders stores `channel` as a plain slug and names only its own channel, `MANUAL` (orders typed in
by the merchant). Every marketplace is a package under integrations/channels/<slug>/ that
registers itself here from IntegrationsConfig.ready(); the order list, filters, analytics and
charts read labels and colours from this registry, so adding a channel touches its package and
one registry line, never orders. Only display metadata lives here: the channel's adapter (the
code that talks to it) belongs to integrations, keyed by the same slug.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from core.registry import Registry

MANUAL = "manual"

FALLBACK_COLOURS = ("#1f4fd6", "#b42318", "#1c7c46", "#a15c00", "#5f6b7a")


@dataclass(frozen=True)
class ChannelInfo:
    slug: str  # what Order.channel stores; at most 16 characters
    label: str  # shown to merchants, e.g. "Acme Market"
    colour: str  # CSS colour of the channel in lists and charts: "#7f54b3"
    # What the channel is told when we act on one of its orders (the bulk actions' confirmation says so):
    # a shipment becomes a fulfillment on the channel; a cancellation is sent to the channel.
    tells_fulfillment: bool = False
    tells_cancellation: bool = False


channels: Registry[ChannelInfo] = Registry("orders.channels")


def channel_register(*, slug: str, label: str, colour: str, tells_fulfillment: bool = False,
                     tells_cancellation: bool = False) -> ChannelInfo:
    """Called from a channel package's registration (integrations' AppConfig.ready())."""
    if not slug or len(slug) > 16 or slug != slug.lower():
        raise ValueError(f"A channel slug is 1 to 16 lower-case characters, not {slug!r}")
    return channels.register(slug, ChannelInfo(slug=slug, label=label, colour=colour,
                                               tells_fulfillment=tells_fulfillment,
                                               tells_cancellation=tells_cancellation))


def channel_list() -> list[ChannelInfo]:
    """Marketplaces in the order they were registered, then orders typed in here."""
    found = channels.values()
    return [c for c in found if c.slug != MANUAL] + [c for c in found if c.slug == MANUAL]


def channel_slugs() -> list[str]:
    return [c.slug for c in channel_list()]


def channel_choices() -> list[tuple[str, str]]:
    return [(c.slug, c.label) for c in channel_list()]


def channel_label(slug: str) -> str:
    """The label, or the slug itself for an order whose channel package is no longer installed."""
    info = channels.get(slug)
    return info.label if info else slug


def channel_effect(slug: str, action: str) -> str:
    """What happens on the channel when we cancel ("cancel"), mark fulfilled without tracking
    ("fulfill") or mark returned ("return") one of its orders, in the merchant's words, from what the channel registered."""
    if slug == MANUAL:
        return "Entered by hand: no channel is told."
    info = channels.get(slug)
    label = info.label if info else slug
    if action == "cancel":
        if info and info.tells_cancellation:
            return f"{label} is told the order is cancelled."
        return f"Cancelled here only: {label} is not told. Cancel (and refund) it on {label} too."
    if action == "return":
        return f"Marked returned here only: {label} is not told. Refund the customer on {label} if they are owed."
    if info and info.tells_fulfillment:
        return (f"{label} is told the order shipped, with no tracking number; "
                f"{label} may email the customer.")
    return f"Marked fulfilled here only: {label} is not told. Mark it shipped on {label} too."


def channel_colour(slug: str, index: int = 0) -> str:
    """The channel's colour; an unregistered slug takes a fallback by its place in a chart's series."""
    info = channels.get(slug)
    return info.colour if info else FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)]


# The order list's "store" filter: orders stores only `integration_id`, and the names of a merchant's
# stores belong to integrations (which orders never imports). Integrations registers a source from
# IntegrationsConfig.ready(): a callable taking the merchant and returning (integration id, name) pairs.
StoreChoices = Callable[[Any], list[tuple[int, str]]]
store_choice_sources: Registry[StoreChoices] = Registry("orders.store_choices")


def store_choices(merchant: Any) -> list[tuple[int, str]]:
    """Every registered source's (id, name) pairs for `merchant`, read inside the request's scope."""
    return [choice for source in store_choice_sources.values() for choice in source(merchant)]


def name_stores(merchant: Any, orders: Iterable[Any], *, choices: list[tuple[int, str]] | None = None) -> None:
    """Set `store_name` on each order: the store's name as the store filter shows it, a manual order's
    channel ("Manual") otherwise. Two stores can both have an order #1001; the badge beside the number
    (queue, home page, order page) is what tells them apart. `choices`: store_choices already read."""
    names = dict(store_choices(merchant) if choices is None else choices)
    for o in orders:
        o.store_name = names.get(o.integration_id) or o.get_channel_display()


# The home page's "stores with sync problems": the same arrangement. Integrations registers a source that
# returns, for a merchant, one StoreAlert per store that needs looking at (refused credentials, failed or
# stale syncs, no orders for a long time), each linking to the page that fixes it.
@dataclass(frozen=True)
class StoreAlert:
    store: str  # the store's name as the merchant knows it
    message: str  # what is wrong, in words
    severity: str  # "error" | "warning"
    url: str  # where to look (the store's page)


StoreAlerts = Callable[[Any], list[StoreAlert]]
store_alert_sources: Registry[StoreAlerts] = Registry("orders.store_alerts")


def store_alerts(merchant: Any) -> list[StoreAlert]:
    """Every registered source's alerts for `merchant`, errors first."""
    found = [alert for source in store_alert_sources.values() for alert in source(merchant)]
    return sorted(found, key=lambda a: (a.severity != "error", a.store))
STORE_KEY_PREFIX = "integration"


def store_key(integration_id: int | None) -> str:
    """How orders names a store to inventory (SKU aliases per store): inventory knows no integration,
    only this opaque key. Empty for orders of no store (manual orders): the merchant-wide aliases."""
    return f"{STORE_KEY_PREFIX}:{integration_id}" if integration_id else ""


# Tracking leaves on commit: a shipped shipment of a store's order writes a TrackingOutbox row, and once its
# transaction commits orders calls every registered listener with the merchant id (integrations enqueues
# its tracking push). The beat fan-out over due rows stays as the safety net when a listener fails.
TrackingListener = Callable[[int], None]
tracking_listeners: Registry[TrackingListener] = Registry("orders.tracking_listeners")


def store_of_key(key: str) -> int | None:
    """store_key's inverse: the integration id a key names, None for the merchant-wide key."""
    return int(key.split(":", 1)[1]) if (key or "").startswith(f"{STORE_KEY_PREFIX}:") else None


def store_exists(merchant: Any, integration_id: int) -> bool:
    """Whether the id is one of the merchant's stores (as the store filter lists them)."""
    return integration_id in dict(store_choices(merchant))
