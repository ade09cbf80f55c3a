"""A connected store for tests that need a real Integration row (orders' foreign key) and no connect job."""

from __future__ import annotations

from integrations.models import Integration

CREDENTIALS = {"shop_domain": "test-shop.myshopify.com", "access_token": "shpat_test_token",
               "client_secret": "shpss_test_secret"}


def make_integration(merchant, *, name: str = "Main shop", channel: str = "shopify",
                     credentials: dict | None = None) -> Integration:
    return Integration.objects.create(merchant=merchant, channel=channel, name=name,
                                      credentials=dict(CREDENTIALS if credentials is None else credentials))
