"""Cost-based throttling: requested cost as Shopify computes it, the leaky bucket draining and
refilling, THROTTLED in a 200, MAX_COST_EXCEEDED and the 250-item input cap."""

from __future__ import annotations

from tests.fakes.shopify import seed_catalog, seed_orders
from tests.fakes.shopify.fixtures import graphql

ORDERS = """query Orders($first: Int!, $lines: Int!) {
  orders(first: $first, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { id totalPriceSet { shopMoney { amount } } lineItems(first: $lines) { nodes { id sku } } }
  }
}"""


def test_requested_cost_multiplies_nested_connections_and_actual_counts_what_came_back(
        clocked_fake, manual_clock):
    shop = clocked_fake.add_shop()
    seed_catalog(shop)
    seed_orders(shop, 3, lines=2)
    token = clocked_fake.issue_token(shop.domain)

    cost = graphql(clocked_fake, shop.domain, token, ORDERS, {"first": 10, "lines": 20}).json()["extensions"]["cost"]

    # orders: 2 + 10 x (order 1 + totalPriceSet 2 + lineItems (2 + 20 x 1)) = 252
    assert cost["requestedQueryCost"] == 252
    # 3 orders came back with 2 lines each: 2 + 3 x (1 + 2 + (2 + 2)) = 23
    assert cost["actualQueryCost"] == 23
    assert cost["throttleStatus"] == {"maximumAvailable": 2000.0, "currentlyAvailable": 2000 - 23,
                                      "restoreRate": 100.0}


def test_bucket_drains_by_actual_cost_and_refills_at_the_restore_rate(clocked_fake, manual_clock):
    shop = clocked_fake.add_shop()
    seed_catalog(shop)
    seed_orders(shop, 50, lines=1)
    token = clocked_fake.issue_token(shop.domain)
    variables = {"first": 50, "lines": 5}

    available = [graphql(clocked_fake, shop.domain, token, ORDERS, variables).json()
                 ["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] for _ in range(3)]
    manual_clock.advance(1.5)
    refilled = graphql(clocked_fake, shop.domain, token, "query { shop { name } }").json()["extensions"]["cost"]

    per_call = 2 + 50 * (1 + 2 + (2 + 1))  # actual: 50 orders with one line each
    assert available == [2000 - per_call, 2000 - 2 * per_call, 2000 - 3 * per_call]
    assert refilled["throttleStatus"]["currentlyAvailable"] == 2000 - 3 * per_call + 150 - 1


def test_over_budget_is_throttled_in_a_200_and_charges_nothing(clocked_fake, manual_clock):
    shop = clocked_fake.add_shop()
    seed_catalog(shop)
    seed_orders(shop, 2)
    token = clocked_fake.issue_token(shop.domain)
    clocked_fake.set_bucket(shop.domain, "custom-app", 100)

    throttled = graphql(clocked_fake, shop.domain, token, ORDERS, {"first": 10, "lines": 20})
    manual_clock.advance(1.53)  # (252 - 100) / 100 points per second, plus float slack
    served = graphql(clocked_fake, shop.domain, token, ORDERS, {"first": 10, "lines": 20})

    assert throttled.status_code == 200
    body = throttled.json()
    assert body["errors"] == [{"message": "Throttled", "extensions": {
        "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]
    assert "data" not in body
    assert body["extensions"]["cost"]["requestedQueryCost"] == 252
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 100
    assert served.json()["data"]["orders"]["pageInfo"]["hasNextPage"] is False
    assert [c.error_codes for c in clocked_fake.calls()] == [["THROTTLED"], []]


def test_single_query_over_1000_points_is_refused(shopify_fake, shopify_shop, shopify_token):
    response = graphql(shopify_fake, shopify_shop.domain, shopify_token, ORDERS, {"first": 50, "lines": 100})

    body = response.json()
    assert response.status_code == 200
    assert "data" not in body
    assert body["errors"][0]["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": 2 + 50 * (1 + 2 + 102),
                                               "maxCost": 1000,
                                               "documentation": "https://shopify.dev/api/usage/rate-limits"}
    assert body["errors"][0]["message"].startswith("Query cost is 5252, which exceeds the single query max cost")
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2000


def test_mutation_costs_ten(shopify_fake, shopify_shop, shopify_token):
    mutation = """mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE,
        webhookSubscription: {uri: "https://hooks.example.test/a"}) { webhookSubscription { id } userErrors { message } } }"""

    cost = graphql(shopify_fake, shopify_shop.domain, shopify_token, mutation).json()["extensions"]["cost"]

    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (10, 10)


def test_input_arrays_over_250_items_are_refused(shopify_fake, shopify_shop, shopify_token):
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    ids = [f"gid://shopify/Order/{n}" for n in range(251)]

    body = graphql(shopify_fake, shopify_shop.domain, shopify_token, query, {"ids": ids}).json()

    assert body["errors"] == [{"message": "The input array size of 251 is greater than the maximum allowed of 250.",
                               "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"}}]


def test_page_size_over_250_is_refused(shopify_fake, shopify_shop, shopify_token):
    body = graphql(shopify_fake, shopify_shop.domain, shopify_token,
                   "query { orders(first: 251) { nodes { id } } }").json()

    assert body["data"] is None
    assert body["errors"][0]["message"] == "The 'first' argument must be between 0 and 250."
