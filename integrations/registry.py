"""The channels integrations can connect, each a package under integrations/channels/<slug>/.

A package describes itself with a `ChannelPackage` (its `CHANNEL`); `channel_package_register`
puts it in integrations' own registry (the connect page; the adapter joins it with the channel
clients) and hands the display part (slug, label, colour) to orders' channel registry, the
lowest app that shows channels. IntegrationsConfig.ready() registers every package: adding a
channel is its folder plus one line there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.registry import Registry
from orders.channels import channel_register


@dataclass(frozen=True)
class ChannelPackage:
    slug: str  # stored on orders as Order.channel; at most 16 lower-case characters
    label: str
    colour: str  # CSS colour in order lists and charts
    summary: str  # one line on the connect page: how orders arrive and stock leaves
    # the ChannelAdapter subclass (integrations/channels/base.py); None while a channel has no client yet
    adapter: Any = None


channel_packages: Registry[ChannelPackage] = Registry("integrations.channel_packages")


def channel_package_register(package: ChannelPackage) -> ChannelPackage:
    # The tracking consumer turns every shipped parcel into a fulfillment through the adapter; no adapter
    # cancels on its channel yet (a cancellation here stays here).
    channel_register(slug=package.slug, label=package.label, colour=package.colour,
                     tells_fulfillment=package.adapter is not None, tells_cancellation=False)
    return channel_packages.register(package.slug, package)
