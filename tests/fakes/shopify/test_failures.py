"""Failure injection: 429 with Retry-After, 5xx and slow answers for the next N calls; none of them
executes the request, and the log shows them."""

from __future__ import annotations

import time

import pytest
import requests

from tests.fakes.shopify import gid, seed_catalog, seed_orders
from tests.fakes.shopify.fixtures import graphql

QUERY = "query { orders(first: 5) { nodes { id } } }"


def test_429_with_retry_after_for_the_next_calls(shopify_fake, shopify_shop, shopify_token):
    shopify_fake.fail_next(2, status=429, retry_after=1.5)

    responses = [graphql(shopify_fake, shopify_shop.domain, shopify_token, QUERY) for _ in range(3)]

    assert [r.status_code for r in responses] == [429, 429, 200]
    assert [r.headers.get("Retry-After") for r in responses[:2]] == ["1.5", "1.5"]
    assert "Retry-After" not in responses[2].headers
    assert [c.injected for c in shopify_fake.calls()] == [True, True, False]
    assert shopify_fake.calls()[2].requested_cost == 7


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_for_the_next_call_executes_nothing(shopify_fake, shopify_shop, shopify_token, status):
    seed_catalog(shopify_shop)
    location = shopify_shop.primary_location()
    variant = next(iter(shopify_shop.variants.values()))
    mutation = """mutation($key: String!, $item: ID!, $location: ID!) { inventorySetQuantities(input: {
      name: "available", reason: "correction", quantities: [{inventoryItemId: $item, locationId: $location,
      quantity: 3, changeFromQuantity: null}]}) @idempotent(key: $key) { userErrors { code } } }"""
    variables = {"key": "k", "item": gid("InventoryItem", variant.inventory_item_id),
                 "location": gid("Location", location.id)}
    shopify_fake.fail_next(1, status=status)

    failed = graphql(shopify_fake, shopify_shop.domain, shopify_token, mutation, variables)
    untouched = shopify_shop.quantity(variant.inventory_item_id, location.id)
    retried = graphql(shopify_fake, shopify_shop.domain, shopify_token, mutation, variables)

    assert failed.status_code == status
    assert untouched == 10
    assert retried.json()["data"]["inventorySetQuantities"]["userErrors"] == []
    assert shopify_shop.quantity(variant.inventory_item_id, location.id) == 3


def test_a_slow_answer_times_the_client_out(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop)
    seed_orders(shopify_shop, 1)
    shopify_fake.fail_next(1, status=200, delay=0.5)

    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(shopify_fake.graphql_url(shopify_shop.domain), json={"query": QUERY},
                      headers={"X-Shopify-Access-Token": shopify_token}, timeout=0.2)
    after = graphql(shopify_fake, shopify_shop.domain, shopify_token, QUERY)
    deadline = time.monotonic() + 10  # the slowed request still completes on the fake, late (a loaded machine: later)
    while len(shopify_fake.calls()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)

    assert sorted(c.status for c in shopify_fake.calls()) == [200, 200]  # the slow one was served, late
    assert after.status_code == 200
    assert len(after.json()["data"]["orders"]["nodes"]) == 1


def test_injection_can_target_the_oauth_endpoint(shopify_fake, shopify_shop, shopify_token):
    shopify_fake.fail_next(1, status=503, target="oauth")

    graphql_call = graphql(shopify_fake, shopify_shop.domain, shopify_token, QUERY)
    oauth_call = requests.post(f"{shopify_fake.base_url}/{shopify_shop.domain}/admin/oauth/access_token",
                               json={}, timeout=10)

    assert graphql_call.status_code == 200
    assert oauth_call.status_code == 503
