"""The Shopify fake's fixtures, and adapters pointed at it through SHOPIFY_API_BASE_URL."""

from __future__ import annotations

import uuid

import pytest

from core.http import HttpClient
from integrations.channels.shopify.adapter import ShopifyAdapter
from integrations.channels.shopify.client import BUDGET, BUDGETS


@pytest.fixture
def make_adapter(settings):
    """An adapter on the fake: `make_adapter(fake, credentials, clock=...)`. A manual clock makes the
    client's waits (cost bucket, backoff) move that clock instead of sleeping; backoff is shortened so
    a retried 429/500 costs milliseconds."""

    def make(fake, credentials, *, clock=None, changed=None, max_attempts=None, timeout=None):
        settings.SHOPIFY_API_BASE_URL = fake.base_url_template
        budget_key = f"test:{uuid.uuid4()}"
        timing = {"sleep": clock.advance, "clock": clock.time} if clock is not None else {}
        http = HttpClient(budget_key=budget_key, budget=BUDGET, budgets=BUDGETS, backoff_base=0.01, backoff_cap=0.05,
                          max_attempts=max_attempts, timeout=timeout, **timing)
        return ShopifyAdapter(credentials=dict(credentials), budget_key=budget_key,
                              on_credentials_changed=changed or (lambda credentials: None), http=http, **timing)

    return make
