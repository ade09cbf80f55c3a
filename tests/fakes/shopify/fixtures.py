"""Pytest fixtures for the Shopify fake. tests/fakes/conftest.py imports them; another test package
imports them into its own conftest.py the same way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from .server import ShopifyFake
from .state import ManualClock, ShopState


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def shopify_fake() -> Iterator[ShopifyFake]:
    """A started fake on real time; it fails the test at teardown if a request crashed the fake."""
    fake = ShopifyFake().start()
    try:
        yield fake
    finally:
        fake.stop()
    crashes = fake.calls(kind="crash")
    assert not crashes, f"the Shopify fake crashed on {[c.path for c in crashes]}"


@pytest.fixture
def clocked_fake(manual_clock: ManualClock) -> Iterator[ShopifyFake]:
    """A started fake on a clock only the test moves (bucket refills, token expiry)."""
    fake = ShopifyFake(clock=manual_clock).start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.calls(kind="crash"), "the Shopify fake crashed"


@pytest.fixture
def shopify_shop(shopify_fake: ShopifyFake) -> ShopState:
    return shopify_fake.add_shop("demo-store.myshopify.com", name="Demo Store")


@pytest.fixture
def shopify_token(shopify_fake: ShopifyFake, shopify_shop: ShopState) -> str:
    return shopify_fake.issue_token(shopify_shop.domain)


def graphql(fake: ShopifyFake, shop: str, token: str | None, query: str, variables: dict | None = None, *,
            version: str = "2026-10") -> requests.Response:
    """One GraphQL call as a client makes it (for the fake's own tests; the real client is the product's)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token is not None:
        headers["X-Shopify-Access-Token"] = token
    return requests.post(fake.graphql_url(shop, version), json={"query": query, "variables": variables or {}},
                         headers=headers, timeout=10)
