"""The Amazon fake with our settings pointed at it: one app, one seller on Amazon.com."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.fakes.amazon import AmazonFake, App, Seller


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
