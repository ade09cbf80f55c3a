"""The Amazon fake with our settings pointed at it: one app, one seller on Amazon.com."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.fakes.amazon import AmazonFake, App, Seller


def listings_import(amazon: AmazonEnv, merchant, integration) -> None:
    """The connect job's listings step, page by page through the adapter (upsert, then the quantities seen),
    with the availability marks it leaves cleared so a test's push sends only what it changes."""
    from integrations.channels import adapter_for
    from integrations.sync import listings_upsert
    from integrations.sync.stock import quantities_seen
    from inventory.models import AvailabilityMark

    adapter = adapter_for("amazon", amazon.credentials(), budget_key="t", on_credentials_changed=lambda c: None)
    items, cursor = [], None
    while True:
        page = adapter.fetch_listings(cursor)
        items += page.items
        if not (cursor := page.next_cursor):
            break
    listings_upsert(merchant=merchant, integration=integration, items=items)
    quantities_seen(merchant=merchant, integration=integration,
                    quantities={i.external_id: i.quantity for i in items if i.quantity is not None})
    AvailabilityMark.objects.filter(merchant=merchant).delete()


@dataclass
class AmazonEnv:
    fake: AmazonFake
    app: App
    seller: Seller

    def credentials(self, **overrides) -> dict:
        return {"refresh_token": self.seller.refresh_token, "lwa_client_id": self.app.client_id,
                "lwa_client_secret": self.app.client_secret, "seller_id": self.seller.seller_id,
                "marketplace_ids": list(self.seller.marketplace_ids), "region": "na", **overrides}


@pytest.fixture
def amazon(amazon_fake, settings) -> AmazonEnv:
    settings.AMAZON_SPAPI_ENDPOINT = amazon_fake.base_url
    settings.AMAZON_LWA_TOKEN_URL = amazon_fake.lwa_url
    settings.AMAZON_SPAPI_RATE_SCALE = amazon_fake.time_scale
    settings.CHANNEL_HTTP_BACKOFF_BASE = 0.01
    settings.CHANNEL_HTTP_BACKOFF_CAP = 0.05
    app = amazon_fake.add_app()
    return AmazonEnv(fake=amazon_fake, app=app, seller=amazon_fake.add_seller(app))
