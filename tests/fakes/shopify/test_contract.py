"""The fake keeps Shopify's wire contract: endpoint per version, the access-token header or the real 401,
schema validation with Shopify's error shape, scopes."""

from __future__ import annotations

import requests

from tests.fakes.shopify import API_VERSION, seed_catalog, seed_orders
from tests.fakes.shopify.fixtures import graphql

SHOP_QUERY = "query { shop { name currencyCode myshopifyDomain plan { publicDisplayName shopifyPlus } } }"


def test_valid_query_answers_data_and_cost(shopify_fake, shopify_shop, shopify_token):
    response = graphql(shopify_fake, shopify_shop.domain, shopify_token, SHOP_QUERY)

    assert response.status_code == 200
    assert response.headers["X-Shopify-API-Version"] == API_VERSION
    assert response.headers["X-Request-Id"]
    body = response.json()
    assert body["data"]["shop"] == {"name": "Demo Store", "currencyCode": "USD",
                                    "myshopifyDomain": "demo-store.myshopify.com",
                                    "plan": {"publicDisplayName": "Basic", "shopifyPlus": False}}
    assert "errors" not in body
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2
    assert body["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 2000.0


def test_misspelled_field_is_refused_in_shopifys_error_shape(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop)
    seed_orders(shopify_shop, 3)
    query = "query { orders(first: 5) { nodes { id totalPriceSett } } }"

    response = graphql(shopify_fake, shopify_shop.domain, shopify_token, query)

    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert body["errors"] == [{"message": "Field 'totalPriceSett' doesn't exist on type 'Order'",
                               "locations": [{"line": 1, "column": 39}],
                               "extensions": {"code": "undefinedField", "typeName": "Order",
                                              "fieldName": "totalPriceSett"}}]
    assert shopify_fake.log[-1].requested_cost == 0


def test_unknown_argument_and_missing_argument_are_refused(shopify_fake, shopify_shop, shopify_token):
    unknown = graphql(shopify_fake, shopify_shop.domain, shopify_token,
                      "query { orders(first: 5, sort: UPDATED_AT) { nodes { id } } }").json()
    missing = graphql(shopify_fake, shopify_shop.domain, shopify_token, "query { order { id } }").json()

    assert unknown["errors"][0]["extensions"]["code"] == "argumentNotAccepted"
    assert unknown["errors"][0]["message"] == "Field 'orders' doesn't accept argument 'sort'"
    assert missing["errors"][0]["extensions"]["code"] == "missingRequiredArguments"
    assert missing["errors"][0]["message"] == "Field 'order' is missing required arguments: id"


def test_wrong_input_type_in_variables_is_refused(shopify_fake, shopify_shop, shopify_token):
    mutation = """mutation Set($input: InventorySetQuantitiesInput!) {
      inventorySetQuantities(input: $input) @idempotent(key: "k-1") { userErrors { code field message } } }"""
    variables = {"input": {"name": "available", "reason": "correction", "quantities": [
        {"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": "gid://shopify/Location/1",
         "quantity": "fourteen", "changeFromQuantity": None}]}}

    response = graphql(shopify_fake, shopify_shop.domain, shopify_token, mutation, variables)

    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert len(body["errors"]) == 1
    assert body["errors"][0]["extensions"]["problems"][0]["path"] == ["quantities", 0, "quantity"]
    assert "Int cannot represent non-integer value" in body["errors"][0]["extensions"]["problems"][0]["explanation"]
    assert shopify_fake.calls(root_field="inventorySetQuantities")[0].requested_cost == 0


def test_variable_of_the_wrong_declared_type_is_refused(shopify_fake, shopify_shop, shopify_token):
    query = "query($first: String!) { orders(first: $first) { nodes { id } } }"

    body = graphql(shopify_fake, shopify_shop.domain, shopify_token, query, {"first": "5"}).json()

    assert "data" not in body
    assert body["errors"][0]["message"].startswith("Variable '$first' of type 'String!' used in position expecting")


def test_missing_wrong_and_revoked_tokens_get_shopifys_401(shopify_fake, shopify_shop, shopify_token):
    other_shop = shopify_fake.add_shop("other-store.myshopify.com")
    foreign = shopify_fake.issue_token(other_shop.domain)
    expected = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}

    missing = graphql(shopify_fake, shopify_shop.domain, None, SHOP_QUERY)
    wrong = graphql(shopify_fake, shopify_shop.domain, "shpat_wrong", SHOP_QUERY)
    other = graphql(shopify_fake, shopify_shop.domain, foreign, SHOP_QUERY)
    shopify_fake.revoke(shopify_token)
    revoked = graphql(shopify_fake, shopify_shop.domain, shopify_token, SHOP_QUERY)

    assert [r.status_code for r in (missing, wrong, other, revoked)] == [401, 401, 401, 401]
    assert [r.json() for r in (missing, wrong, other, revoked)] == [expected] * 4


def test_expiring_token_lapses_on_the_fake_clock(clocked_fake, manual_clock):
    shop = clocked_fake.add_shop()
    token = clocked_fake.issue_token(shop.domain, expires_in=3600)

    before = graphql(clocked_fake, shop.domain, token, SHOP_QUERY)
    manual_clock.advance(3600)
    after = graphql(clocked_fake, shop.domain, token, SHOP_QUERY)

    assert (before.status_code, after.status_code) == (200, 401)


def test_header_name_is_case_insensitive(shopify_fake, shopify_shop, shopify_token):
    response = requests.post(shopify_fake.graphql_url(shopify_shop.domain), json={"query": SHOP_QUERY},
                             headers={"x-shopify-access-token": shopify_token}, timeout=10)

    assert response.status_code == 200


def test_versions_route_on_the_path(shopify_fake, shopify_shop, shopify_token):
    old = graphql(shopify_fake, shopify_shop.domain, shopify_token, SHOP_QUERY, version="2024-10")
    newer = graphql(shopify_fake, shopify_shop.domain, shopify_token, SHOP_QUERY, version="2027-01")
    malformed = graphql(shopify_fake, shopify_shop.domain, shopify_token, SHOP_QUERY, version="2026-05")

    assert old.status_code == 200  # an unsupported old version falls forward to the oldest supported
    assert old.headers["X-Shopify-API-Version"] == "2026-10"
    assert (newer.status_code, malformed.status_code) == (404, 404)
    assert [r.version for r in shopify_fake.calls()] == ["2024-10", "2027-01", "2026-05"]


def test_both_base_url_shapes_reach_the_shop(shopify_fake, shopify_shop, shopify_token):
    shopify_fake.add_shop("second-store.myshopify.com", name="Second")
    second_token = shopify_fake.issue_token("second-store.myshopify.com")
    template = shopify_fake.base_url_template.format(shop="second-store.myshopify.com")

    by_path = requests.post(f"{template}/admin/api/2026-10/graphql.json", json={"query": SHOP_QUERY},
                            headers={"X-Shopify-Access-Token": second_token}, timeout=10)
    by_host = requests.post(f"{shopify_fake.base_url}/admin/api/2026-10/graphql.json", json={"query": SHOP_QUERY},
                            headers={"X-Shopify-Access-Token": shopify_token, "Host": shopify_shop.domain},
                            timeout=10)
    unknown = requests.post(f"{shopify_fake.base_url}/nope.myshopify.com/admin/api/2026-10/graphql.json",
                            json={"query": SHOP_QUERY}, headers={"X-Shopify-Access-Token": shopify_token},
                            timeout=10)

    assert by_path.json()["data"]["shop"]["name"] == "Second"
    assert by_host.json()["data"]["shop"]["name"] == "Demo Store"
    assert unknown.status_code == 404


def test_missing_scope_is_access_denied(shopify_fake, shopify_shop):
    token = shopify_fake.issue_token(shopify_shop.domain, scopes=["read_products"])

    body = graphql(shopify_fake, shopify_shop.domain, token, "query { orders(first: 1) { nodes { id } } }").json()

    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert body["errors"][0]["path"] == ["orders"]


def test_granted_scopes_are_reported(shopify_fake, shopify_shop):
    token = shopify_fake.issue_token(shopify_shop.domain, scopes=["read_orders", "write_inventory"])

    body = graphql(shopify_fake, shopify_shop.domain, token,
                   "query { currentAppInstallation { accessScopes { handle } } }").json()

    assert body["data"]["currentAppInstallation"]["accessScopes"] == [{"handle": "read_orders"},
                                                                      {"handle": "write_inventory"}]


def test_a_field_the_fake_does_not_model_is_an_error_not_a_null(shopify_fake, shopify_shop, shopify_token):
    body = graphql(shopify_fake, shopify_shop.domain, shopify_token, "query { shop { billingAddress { city } } }").json()

    assert body["data"] is None
    assert body["errors"][0]["message"].startswith("The Shopify fake does not model Shop.billingAddress")
