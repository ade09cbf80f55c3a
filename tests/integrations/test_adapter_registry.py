"""adapter_for: the engine gets a channel's adapter by slug through the channel package registry."""

from __future__ import annotations

import pytest

from core.http import Rejected
from integrations.channels import adapter_for
from integrations.channels.base import ChannelAdapter
from integrations.channels.shopify.adapter import ShopifyAdapter
from integrations.registry import ChannelPackage, channel_packages


def test_adapter_for_builds_the_registered_adapter_with_the_callers_budget_and_callback():
    seen = []
    credentials = {"shop_domain": "demo-store.myshopify.com", "access_token": "shpat_x"}

    adapter = adapter_for("shopify", credentials, budget_key="integration:7", on_credentials_changed=seen.append)

    assert type(adapter) is ShopifyAdapter
    assert isinstance(adapter, ChannelAdapter)
    assert (adapter.credentials, adapter.budget_key) == (credentials, "integration:7")
    assert adapter.credentials is not credentials  # the adapter's refreshes never edit the caller's dict
    adapter.on_credentials_changed({"access_token": "new"})
    assert seen == [{"access_token": "new"}]
    assert "write_inventory" in adapter.required_scopes
    assert set(adapter.webhook_topics) == {"orders/create", "orders/updated", "orders/cancelled", "orders/paid", "products/update",
                                           "inventory_levels/update", "app/uninstalled"}


def test_an_unknown_channel_is_rejected():
    with pytest.raises(Rejected, match="nope"):
        adapter_for("nope", {}, budget_key="integration:1", on_credentials_changed=lambda c: None)


def test_a_channel_registered_without_an_adapter_is_rejected():
    display_only = ChannelPackage(slug="acme", label="Acme", colour="#000", summary="Display only.")
    with channel_packages.registered("acme", display_only), pytest.raises(Rejected, match="acme"):
        adapter_for("acme", {}, budget_key="integration:1", on_credentials_changed=lambda c: None)


def test_a_package_registered_with_an_adapter_is_found():
    class Dummy(ShopifyAdapter):
        pass

    package = ChannelPackage(slug="dummy", label="Dummy", colour="#000", summary="", adapter=Dummy)
    with channel_packages.registered("dummy", package):
        adapter = adapter_for("dummy", {}, budget_key="integration:2", on_credentials_changed=lambda c: None)

    assert type(adapter) is Dummy
