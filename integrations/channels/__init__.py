"""One package per channel (client, mapping, adapter, webhooks, forms, install); each declares its `CHANNEL`.

`adapter_for` is how the engine, tasks, views and API get a channel's adapter: by slug, through the
channel package registry (integrations.registry), never by importing a channel's module.
"""

from __future__ import annotations

from core.http import Rejected
from integrations.channels.base import ChannelAdapter, CredentialsChanged
from integrations.models import Integration
from integrations.registry import channel_packages


def budget_key_for(integration: Integration) -> str:
    """The request budget `integration`'s adapter draws on: its package names it (ChannelPackage.budget_key),
    per store unless the channel's limits belong to a wider account."""
    package = channel_packages.get(integration.channel)
    if package is None:
        return f"integration:{integration.pk}"
    return package.budget_key(integration_id=integration.pk, account_ref=integration.account_ref)


def adapter_for(channel: str, credentials: dict, *, budget_key: str,
                on_credentials_changed: CredentialsChanged, interactive: bool = False) -> ChannelAdapter:
    """The adapter of `channel` for one integration. `budget_key` names the shared request budget
    (`budget_key_for(integration)` for a stored store); `on_credentials_changed` receives the whole credentials dict whenever
    the adapter refreshes a token, so the caller can store it (encrypted). `interactive`: a merchant is
    waiting, so one short attempt instead of the background retries."""
    package = channel_packages.get(channel)
    if package is None or package.adapter is None:
        raise Rejected(f"no adapter for channel {channel!r}")
    return package.adapter(credentials=dict(credentials), budget_key=budget_key,
                           on_credentials_changed=on_credentials_changed, interactive=interactive)
