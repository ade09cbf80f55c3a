"""integrations 0002: existing stores get their account_ref from their stored credentials, and the
migration runs backwards (the column empties, listings get their old column name back)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("integrations", "0001_integrations_and_listings")]
AFTER = [("integrations", "0002_channel_ref_channel_data_account_ref")]


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_account_ref_is_filled_for_existing_stores_and_emptied_backwards(merchant_a):
    old = _migrate(BEFORE)
    try:
        Integration = old.get_model("integrations", "Integration")
        shop = Integration._base_manager.create(
            merchant_id=merchant_a.merchant.pk, channel="shopify", name="Old shop", webhook_token="tok-old-shop",
            credentials={"shop_domain": "Old-Shop.myshopify.com", "access_token": "shpat_x"})
        other = Integration._base_manager.create(merchant_id=merchant_a.merchant.pk, channel="woocommerce",
                                                 name="Other", webhook_token="tok-other", credentials={})

        new = _migrate(AFTER)
        rows = dict(new.get_model("integrations", "Integration")._base_manager.values_list("pk", "account_ref"))
        back = _migrate(BEFORE)
        listing_columns = [f.name for f in back.get_model("integrations", "Listing")._meta.get_fields()]
    finally:
        _migrate(_latest())

    assert rows == {shop.pk: "old-shop.myshopify.com", other.pk: ""}
    assert "inventory_item_id" in listing_columns and "channel_ref" not in listing_columns
