"""webhooks 0002 + integrations 0002: each store's former webhook_token becomes its endpoint's token (so the
address Shopify's subscriptions hold keeps arriving), its events join that endpoint, and both migrations
go back as they came."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEFORE = [("webhooks", "0001_webhook_event"), ("integrations", "0001_integrations_and_listings")]


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_tokens_move_into_endpoints_and_back():
    # Given the schema before endpoints: a store with its token and one stored event
    old = migrate(BEFORE)
    Merchant = old.get_model("accounts", "Merchant")
    Integration = old.get_model("integrations", "Integration")
    WebhookEvent = old.get_model("webhooks", "WebhookEvent")
    try:
        merchant = Merchant._base_manager.create(name="Legacy")
        store = Integration._base_manager.create(merchant=merchant, channel="shopify", name="Legacy shop",
                                                 webhook_token="legacy-token-1", credentials={})
        event = WebhookEvent._base_manager.create(merchant=merchant, integration=store, channel="shopify",
                                                  topic="orders/create", delivery_id="orders/create:1", body=b"{}")

        # When the migrations run forward
        new = migrate(latest())

        # Then the store's endpoint carries the old token under its slug, and the event names it
        Endpoint = new.get_model("webhooks", "WebhookEndpoint")
        endpoint = Endpoint._base_manager.get(integration_id=store.pk)
        assert (endpoint.merchant_id, endpoint.kind, endpoint.slug, endpoint.token) == (
            merchant.pk, "channel", "shopify", "legacy-token-1")
        moved = new.get_model("webhooks", "WebhookEvent")._base_manager.get(pk=event.pk)
        assert (moved.endpoint_id, moved.kind) == (endpoint.pk, "channel")
        assert "webhook_token" not in {f.name for f in new.get_model("integrations", "Integration")._meta.fields}

        # And when they are undone, the token is the store's again
        back = migrate(BEFORE)
        assert back.get_model("integrations", "Integration")._base_manager.get(pk=store.pk).webhook_token == \
            "legacy-token-1"
    finally:
        migrate(latest())
