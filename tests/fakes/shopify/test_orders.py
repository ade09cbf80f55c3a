"""Orders: cursor pagination over `sortKey: UPDATED_AT` with the `updated_at:>=` filter, line-item paging
of a big order, the recorded REST order as a GraphQL order, and the 60-day horizon without read_all_orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.fakes.shopify import order_from_rest, realworld, seed_catalog, seed_orders
from tests.fakes.shopify.fixtures import graphql

PAGE = """query Orders($first: Int!, $after: String, $q: String) {
  orders(first: $first, after: $after, query: $q, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id legacyResourceId name updatedAt lineItems(first: 10) { nodes { sku quantity } } } }
  }
}"""


def walk(fake, clock, shop, token, query_filter=None, first=50):
    """Page through orders as a client must: follow endCursor, wait out THROTTLED by the documented formula."""
    seen, after = [], None
    while True:
        body = graphql(fake, shop.domain, token, PAGE, {"first": first, "after": after, "q": query_filter}).json()
        if body.get("errors"):
            assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
            cost = body["extensions"]["cost"]
            status = cost["throttleStatus"]
            clock.advance((cost["requestedQueryCost"] - status["currentlyAvailable"]) / status["restoreRate"] + 0.01)
            continue
        page = body["data"]["orders"]
        seen += [edge["node"]["legacyResourceId"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]


def test_pagination_walks_every_order_exactly_once(clocked_fake, manual_clock):
    shop = clocked_fake.add_shop()
    seed_catalog(shop)
    orders = seed_orders(shop, 500, lines=3)
    token = clocked_fake.issue_token(shop.domain)

    seen = walk(clocked_fake, manual_clock, shop, token)

    assert len(seen) == 500
    assert seen == [str(o.id) for o in sorted(orders, key=lambda o: (o.updated_at, o.id))]
    served = [c for c in clocked_fake.calls() if not c.error_codes]
    assert len(served) == 10
    assert all(c.requested_cost == 2 + 50 * (1 + 2 + 10) for c in clocked_fake.calls())
    assert len(clocked_fake.calls()) > 10  # the bucket (2,000 points) ran dry on the way and was waited out


def test_updated_at_filter_returns_only_changes_since_the_checkpoint(clocked_fake, manual_clock):
    shop = clocked_fake.add_shop()
    seed_catalog(shop)
    start = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    orders = seed_orders(shop, 40, start=start, step=timedelta(minutes=1))
    token = clocked_fake.issue_token(shop.domain)
    shop.touch_order(orders[3].id, start + timedelta(hours=2), financial_status="REFUNDED")

    checkpoint = (start + timedelta(minutes=35)).strftime("%Y-%m-%dT%H:%M:%SZ")
    seen = walk(clocked_fake, manual_clock, shop, token, f"updated_at:>='{checkpoint}'", first=3)

    assert seen == [str(o.id) for o in orders[35:]] + [str(orders[3].id)]


def test_big_order_completes_by_paging_its_line_items(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop, copies=100)
    (order,) = seed_orders(shopify_shop, 1, lines=260)
    query = """query Lines($id: ID!, $after: String) { order(id: $id) {
      lineItems(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { id sku } } } }"""

    ids, after, calls = [], None, 0
    while True:
        page = graphql(shopify_fake, shopify_shop.domain, shopify_token, query,
                       {"id": f"gid://shopify/Order/{order.id}", "after": after}).json()["data"]["order"]["lineItems"]
        calls += 1
        ids += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert calls == 3
    assert ids == [f"gid://shopify/LineItem/{li.id}" for li in order.line_items]


def test_recorded_rest_order_reads_back_as_the_same_graphql_order(shopify_fake, shopify_shop, shopify_token):
    recorded = realworld("rest_order_recorded_eur_test_store.json")
    body = recorded.get("order", recorded)
    order = order_from_rest(shopify_shop, body)
    query = """query($id: ID!) { order(id: $id) { legacyResourceId name currencyCode email
      totalPriceSet { shopMoney { amount currencyCode } } displayFinancialStatus
      lineItems(first: 50) { nodes { id sku quantity originalUnitPriceSet { shopMoney { amount } } } } } }"""

    data = graphql(shopify_fake, shopify_shop.domain, shopify_token, query,
                   {"id": f"gid://shopify/Order/{order.id}"}).json()["data"]["order"]
    webhook = order.to_rest()

    assert data["legacyResourceId"] == str(webhook["id"])
    assert data["currencyCode"] == body["currency"] == "EUR"
    assert data["name"] == body["name"]
    assert Decimal(data["totalPriceSet"]["shopMoney"]["amount"]) == Decimal(webhook["total_price"])
    assert [(n["sku"], n["quantity"], Decimal(n["originalUnitPriceSet"]["shopMoney"]["amount"]))
            for n in data["lineItems"]["nodes"]] == [
        (li["sku"], li["quantity"], Decimal(li["price"])) for li in body["line_items"]]
    assert [n["id"] for n in data["lineItems"]["nodes"]] == [li["admin_graphql_api_id"]
                                                             for li in webhook["line_items"]]


def test_orders_older_than_60_days_need_read_all_orders(clocked_fake, manual_clock):
    shop = clocked_fake.add_shop()
    seed_catalog(shop)
    now = datetime.fromtimestamp(manual_clock.time(), tz=UTC)
    old, recent = seed_orders(shop, 2, start=now - timedelta(days=61), step=timedelta(days=30))
    limited = clocked_fake.issue_token(shop.domain, scopes=["read_orders"])
    full = clocked_fake.issue_token(shop.domain, scopes=["read_orders", "read_all_orders"])
    query = "query { orders(first: 10) { nodes { legacyResourceId } } }"

    limited_ids = graphql(clocked_fake, shop.domain, limited, query).json()["data"]["orders"]["nodes"]
    full_ids = graphql(clocked_fake, shop.domain, full, query).json()["data"]["orders"]["nodes"]

    assert limited_ids == [{"legacyResourceId": str(recent.id)}]
    assert full_ids == [{"legacyResourceId": str(old.id)}, {"legacyResourceId": str(recent.id)}]


def test_unknown_search_field_is_ignored_with_a_warning(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop)
    seed_orders(shopify_shop, 2)

    body = graphql(shopify_fake, shopify_shop.domain, shopify_token,
                   'query { orders(first: 5, query: "colour:blue") { nodes { id } } }').json()

    assert len(body["data"]["orders"]["nodes"]) == 2
    assert body["extensions"]["search"][0]["warnings"] == [{"field": "colour",
                                                            "message": "Invalid search field for this query."}]


def test_first_or_last_is_required(shopify_fake, shopify_shop, shopify_token):
    body = graphql(shopify_fake, shopify_shop.domain, shopify_token, "query { orders { nodes { id } } }").json()

    assert body["data"] is None
    assert body["errors"][0]["message"] == "you must provide one of first or last"


REFERENCE_ORDERS_QUERY = """query Orders($first: Int!, $after: String, $q: String) {
  orders(first: $first, after: $after, query: $q, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId name email createdAt updatedAt cancelledAt
      displayFinancialStatus displayFulfillmentStatus currencyCode
      totalPriceSet { shopMoney { amount currencyCode } }
      customer { id email firstName lastName }
      shippingAddress { name company address1 address2 city province provinceCode zip country countryCodeV2 phone }
      lineItems(first: 100) { nodes {
        id sku name quantity
        variant { id }
        originalUnitPriceSet { shopMoney { amount currencyCode } }
      } }
    }
  }
}"""


def test_the_reference_orders_query_fits_only_with_a_small_outer_page(shopify_fake, shopify_shop, shopify_token):
    """channels-and-carriers §1.5 suggests an outer `first` of 25-50 beside `lineItems(first: 100)`; under
    Shopify's documented cost rules one order of that query costs 407 points, so only 2 fit under 1,000."""
    seed_catalog(shopify_shop)
    (order,) = seed_orders(shopify_shop, 1, lines=2)
    variables = {"q": "updated_at:>='2026-01-01T00:00:00Z'"}

    body = graphql(shopify_fake, shopify_shop.domain, shopify_token, REFERENCE_ORDERS_QUERY,
                   {"first": 2, **variables}).json()
    too_big = graphql(shopify_fake, shopify_shop.domain, shopify_token, REFERENCE_ORDERS_QUERY,
                      {"first": 25, **variables}).json()

    assert "errors" not in body
    # order 1 + totalPriceSet 2 + customer 1 + shippingAddress 1 + lineItems (2 + 100 x (1 + variant 1 + price 2))
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 2 * 407
    (node,) = body["data"]["orders"]["nodes"]
    assert node["legacyResourceId"] == str(order.id)
    assert node["totalPriceSet"]["shopMoney"] == {"amount": f"{order.total:.2f}", "currencyCode": "USD"}
    assert node["shippingAddress"]["countryCodeV2"] == "US"
    assert [li["sku"] for li in node["lineItems"]["nodes"]] == [li.sku for li in order.line_items]
    assert too_big["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


SHIPPING = """query($id: ID!) { order(id: $id) {
  shippingLine { id title code source isRemoved originalPriceSet { shopMoney { amount currencyCode } } }
  current: shippingLines(first: 5) { nodes { title isRemoved } }
  all: shippingLines(first: 5, includeRemovals: true) { nodes { title isRemoved } }
  totalShippingPriceSet { shopMoney { amount } } } }"""


def test_shipping_line_is_the_seeded_orders_first_current_line(shopify_fake, shopify_shop, shopify_token):
    body = realworld("rest_order_recorded_eur_test_store.json")["order"]
    recorded = order_from_rest(shopify_shop, body)
    edited = dict(body, shipping_lines=[dict(body["shipping_lines"][0], title="Express", is_removed=True),
                                        *body["shipping_lines"]])
    with_removal = order_from_rest(shopify_shop, edited)
    without = order_from_rest(shopify_shop, dict(body, shipping_lines=[]))

    def read(order):
        return graphql(shopify_fake, shopify_shop.domain, shopify_token, SHIPPING,
                       {"id": f"gid://shopify/Order/{order.id}"}).json()["data"]["order"]

    line = read(recorded)["shippingLine"]
    assert (line["title"], line["code"], line["source"], line["isRemoved"]) == ("DHL", "DHL", "shopify", False)
    assert line["id"] == f"gid://shopify/ShippingLine/{recorded.shipping_lines[0].id}"
    assert line["originalPriceSet"]["shopMoney"] == {"amount": "4.99", "currencyCode": "EUR"}
    edited_view = read(with_removal)
    assert edited_view["shippingLine"]["title"] == "DHL"
    assert edited_view["current"]["nodes"] == [{"title": "DHL", "isRemoved": False}]
    assert edited_view["all"]["nodes"] == [{"title": "Express", "isRemoved": True}, {"title": "DHL", "isRemoved": False}]
    assert Decimal(edited_view["totalShippingPriceSet"]["shopMoney"]["amount"]) == Decimal("4.99")
    assert read(without)["shippingLine"] is None
    assert [s["title"] for s in with_removal.to_rest()["shipping_lines"]] == ["Express", "DHL"]
