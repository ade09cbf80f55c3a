"""The one extension mechanism: registries a lower app owns and higher apps fill from ready()."""

from __future__ import annotations

import pytest

from core.registry import Registry, RegistryError


def test_entries_keep_registration_order_and_an_equal_second_registration_is_harmless():
    reg: Registry[int] = Registry("test.numbers")
    reg.register("one", 1)
    reg.register("two", 2)
    reg.register("one", 1)  # ready() run again registers the same thing again
    assert (reg.keys(), reg.values(), reg["two"], reg.get("three"), "one" in reg, len(reg)) == (
        ["one", "two"], [1, 2], 2, None, True, 2)


def test_two_apps_claiming_one_name_fail_at_start_up():
    reg: Registry[int] = Registry("test.numbers")
    reg.register("one", 1)
    with pytest.raises(RegistryError) as err:
        reg.register("one", 2)
    assert str(err.value) == "test.numbers: 'one' is already registered as 1"
    assert reg["one"] == 1


def test_a_missing_entry_is_a_registry_error_naming_the_registry():
    with pytest.raises(RegistryError) as err:
        Registry("test.empty")["nope"]
    assert str(err.value) == "test.empty: nothing is registered as 'nope'"


def test_registered_for_a_block_puts_back_what_was_there():
    reg: Registry[int] = Registry("test.numbers")
    reg.register("one", 1)
    with reg.registered("one", 10), reg.registered("two", 2):
        assert reg.items() == [("one", 10), ("two", 2)]
    assert reg.items() == [("one", 1)]


def test_the_project_fills_its_registries_from_ready():
    from accounts.registry import onboarding_steps
    from inventory.registry import availability_consumers, low_stock_notifiers
    from orders.bulk_actions import bulk_actions
    from orders.channels import channel_slugs

    assert onboarding_steps.keys() == ["notifications.settings", "inventory.default_location"]  # INSTALLED_APPS order
    assert availability_consumers.keys() == ["orders", "channels"]
    assert low_stock_notifiers.keys() == []
    assert bulk_actions.keys() == ["buy_labels", "packing_slips", "pick_list"]  # labels adds its own
    assert channel_slugs() == ["shopify", "woocommerce", "amazon", "manual"]


def test_only_one_app_may_decide_who_hears_about_low_stock():
    from django.core.exceptions import ImproperlyConfigured

    from inventory.registry import low_stock_notifier, low_stock_notifiers

    def first(**kwargs) -> str:
        return "ok"

    def second(**kwargs) -> str:
        return "ok"

    assert low_stock_notifier() is None  # nobody registered: inventory emails the owners itself
    with low_stock_notifiers.registered("notifications", first):
        assert low_stock_notifier() is first
        with low_stock_notifiers.registered("other", second), pytest.raises(ImproperlyConfigured) as err:
            low_stock_notifier()
    assert str(err.value) == "Only one app may decide who hears about low stock; registered: notifications, other"


def test_only_one_app_may_name_stores_to_sku_aliases():
    from django.core.exceptions import ImproperlyConfigured

    from inventory.registry import AliasStores, alias_stores, alias_stores_get

    one = AliasStores(key=str, store_of=lambda key: None, exists=lambda merchant, pk: False)
    two = AliasStores(key=repr, store_of=lambda key: None, exists=lambda merchant, pk: False)
    with alias_stores.registered("zz-first", one):
        names = ", ".join(alias_stores)
        with alias_stores.registered("zz-second", two), pytest.raises(ImproperlyConfigured) as err:
            alias_stores_get()
    assert str(err.value) == f"Only one app may name stores to SKU aliases; registered: {names}, zz-second"
