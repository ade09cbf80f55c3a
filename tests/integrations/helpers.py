"""A connected store for tests that need a real Integration row (orders' foreign key) and no connect job."""

from __future__ import annotations

from integrations.models import Integration
from integrations.registry import channel_packages

CREDENTIALS = {"shop_domain": "test-shop.myshopify.com", "access_token": "shpat_test_token",
               "client_secret": "shpss_test_secret"}


def make_integration(merchant, *, name: str = "Main shop", channel: str = "shopify",
                     credentials: dict | None = None) -> Integration:
    """The row as integration_create leaves it: account_ref from the package, as the connect form fills it."""
    credentials = dict(CREDENTIALS if credentials is None else credentials)
    return Integration.objects.create(merchant=merchant, channel=channel, name=name, credentials=credentials,
                                      account_ref=channel_packages[channel].account_ref(credentials))
