"""inventorySetQuantities as 2026-04+ Shopify runs it: `@idempotent` and the `changeFromQuantity` key
required, compare-and-set, one bad item refuses the whole mutation, replay under the same key."""

from __future__ import annotations

import pytest

from tests.fakes.shopify import gid, seed_catalog
from tests.fakes.shopify.fixtures import graphql

SET = """mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason changes { name delta quantityAfterChange item { id } } }
    userErrors { code field message }
  }
}"""
SET_WITHOUT_DIRECTIVE = SET.replace(" @idempotent(key: $key)", "").replace(", $key: String!", "")


@pytest.fixture
def stocked(shopify_shop):
    seed_catalog(shopify_shop)
    location = shopify_shop.primary_location()
    variants = sorted(shopify_shop.variants.values(), key=lambda v: v.id)
    return shopify_shop, location, variants


def quantity(variant, location, value, change_from):
    return {"inventoryItemId": gid("InventoryItem", variant.inventory_item_id),
            "locationId": gid("Location", location.id), "quantity": value, "changeFromQuantity": change_from}


def set_input(*quantities):
    return {"name": "available", "reason": "correction", "referenceDocumentUri": "switchboard://push/1",
            "quantities": list(quantities)}


def available(shop, variant, location):
    return shop.quantity(variant.inventory_item_id, location.id)


def test_set_applies_and_reports_the_changes(shopify_fake, shopify_token, stocked):
    shop, location, (pink, red, *_) = stocked
    before_pink, before_red = available(shop, pink, location), available(shop, red, location)

    body = graphql(shopify_fake, shop.domain, shopify_token, SET, {"key": "k-1", "input": set_input(
        quantity(pink, location, 14, before_pink), quantity(red, location, 3, None))}).json()

    result = body["data"]["inventorySetQuantities"]
    assert result["userErrors"] == []
    assert result["inventoryAdjustmentGroup"]["reason"] == "correction"
    assert [c for c in result["inventoryAdjustmentGroup"]["changes"] if c["name"] == "available"] == [
        {"name": "available", "delta": 14 - before_pink, "quantityAfterChange": 14,
         "item": {"id": gid("InventoryItem", pink.inventory_item_id)}},
        {"name": "available", "delta": 3 - before_red, "quantityAfterChange": 3,
         "item": {"id": gid("InventoryItem", red.inventory_item_id)}}]
    assert (available(shop, pink, location), available(shop, red, location)) == (14, 3)


def test_without_idempotent_directive_is_refused(shopify_fake, shopify_token, stocked):
    shop, location, (pink, *_) = stocked
    before = available(shop, pink, location)

    body = graphql(shopify_fake, shop.domain, shopify_token, SET_WITHOUT_DIRECTIVE,
                   {"input": set_input(quantity(pink, location, 14, before))}).json()

    assert body["data"] == {"inventorySetQuantities": None}
    assert body["errors"][0]["message"] == "The @idempotent directive is required for this mutation."
    assert body["errors"][0]["path"] == ["inventorySetQuantities"]
    assert available(shop, pink, location) == before


def test_without_change_from_quantity_key_is_refused(shopify_fake, shopify_token, stocked):
    shop, location, (pink, red, *_) = stocked
    before = available(shop, pink, location)
    missing = quantity(red, location, 5, None)
    del missing["changeFromQuantity"]

    body = graphql(shopify_fake, shop.domain, shopify_token, SET, {"key": "k-2", "input": set_input(
        quantity(pink, location, 14, None), missing)}).json()

    assert body["data"] == {"inventorySetQuantities": None}
    assert body["errors"][0]["message"].startswith("changeFromQuantity is required on every quantity")
    assert body["errors"][0]["message"].endswith("missing at quantities 1.")
    assert available(shop, pink, location) == before


def test_one_unknown_item_refuses_the_whole_mutation(shopify_fake, shopify_token, stocked):
    shop, location, variants = stocked
    before = [available(shop, v, location) for v in variants]
    quantities = [quantity(v, location, 7, None) for v in variants]
    quantities.insert(2, {"inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": gid("Location", location.id),
                          "quantity": 7, "changeFromQuantity": None})

    body = graphql(shopify_fake, shop.domain, shopify_token, SET, {"key": "k-3", "input": set_input(*quantities)}).json()

    result = body["data"]["inventorySetQuantities"]
    assert result["inventoryAdjustmentGroup"] is None
    assert result["userErrors"] == [{"code": "INVALID_INVENTORY_ITEM",
                                     "field": ["input", "quantities", "2", "inventoryItemId"],
                                     "message": "The specified inventory item could not be found."}]
    assert [available(shop, v, location) for v in variants] == before
    assert shopify_fake.calls()[-1].user_error_codes == ["INVALID_INVENTORY_ITEM"]


def test_unknown_location_is_a_user_error_too(shopify_fake, shopify_token, stocked):
    shop, location, (pink, *_) = stocked
    wrong = quantity(pink, location, 7, None) | {"locationId": "gid://shopify/Location/1"}

    result = graphql(shopify_fake, shop.domain, shopify_token, SET,
                     {"key": "k-4", "input": set_input(wrong)}).json()["data"]["inventorySetQuantities"]

    assert result["userErrors"][0]["code"] == "INVALID_LOCATION"
    assert result["userErrors"][0]["field"] == ["input", "quantities", "0", "locationId"]


def test_stale_change_from_quantity_is_refused_and_nothing_applies(shopify_fake, shopify_token, stocked):
    shop, location, (pink, red, *_) = stocked
    shop.set_quantity(pink.inventory_item_id, location.id, 9)  # sold on Shopify since we last read 10
    before_red = available(shop, red, location)

    result = graphql(shopify_fake, shop.domain, shopify_token, SET, {"key": "k-5", "input": set_input(
        quantity(red, location, 1, before_red), quantity(pink, location, 14, 10))}).json()["data"]["inventorySetQuantities"]

    assert result == {"inventoryAdjustmentGroup": None, "userErrors": [{
        "code": "CHANGE_FROM_QUANTITY_STALE", "field": ["input", "quantities", "1", "changeFromQuantity"],
        "message": "The changeFromQuantity value does not match persisted value."}]}
    assert (available(shop, pink, location), available(shop, red, location)) == (9, before_red)


def test_same_key_replays_the_first_result_without_applying_twice(shopify_fake, shopify_token, stocked):
    shop, location, (pink, *_) = stocked
    variables = {"key": "k-6", "input": set_input(quantity(pink, location, 14, None))}

    first = graphql(shopify_fake, shop.domain, shopify_token, SET, variables).json()
    shop.set_quantity(pink.inventory_item_id, location.id, 2)  # a sale after our set
    replay = graphql(shopify_fake, shop.domain, shopify_token, SET, variables).json()

    assert replay["data"] == first["data"]
    assert available(shop, pink, location) == 2
    assert len(shop.adjustment_groups) == 1
    assert [c.idempotent_replays for c in shopify_fake.calls()] == [0, 1]


def test_same_key_with_other_parameters_is_a_mismatch(shopify_fake, shopify_token, stocked):
    shop, location, (pink, *_) = stocked
    graphql(shopify_fake, shop.domain, shopify_token, SET,
            {"key": "k-7", "input": set_input(quantity(pink, location, 14, None))})

    result = graphql(shopify_fake, shop.domain, shopify_token, SET, {"key": "k-7", "input": set_input(
        quantity(pink, location, 15, None))}).json()["data"]["inventorySetQuantities"]

    assert result["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert available(shop, pink, location) == 14


def test_retrying_a_refused_attempt_needs_a_new_key(shopify_fake, shopify_token, stocked):
    shop, location, (pink, *_) = stocked
    variables = {"key": "k-8", "input": set_input(quantity(pink, location, 14, 999))}
    graphql(shopify_fake, shop.domain, shopify_token, SET, variables)

    again = graphql(shopify_fake, shop.domain, shopify_token, SET, variables).json()["data"]["inventorySetQuantities"]

    assert again["userErrors"][0]["code"] == "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"


def test_250_quantities_pass_and_251_are_refused(shopify_fake, shopify_token, shopify_shop):
    seed_catalog(shopify_shop, copies=63)  # 252 variants
    location = shopify_shop.primary_location()
    variants = sorted(shopify_shop.variants.values(), key=lambda v: v.id)
    many = [quantity(v, location, 1, None) for v in variants]

    accepted = graphql(shopify_fake, shopify_shop.domain, shopify_token, SET,
                       {"key": "k-9", "input": set_input(*many[:250])}).json()
    refused = graphql(shopify_fake, shopify_shop.domain, shopify_token, SET,
                      {"key": "k-10", "input": set_input(*many[:251])}).json()

    assert accepted["data"]["inventorySetQuantities"]["userErrors"] == []
    assert refused["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert available(shopify_shop, variants[250], location) != 1


def test_inventory_levels_read_back_the_quantities(shopify_fake, shopify_token, stocked):
    shop, location, (pink, *_) = stocked
    query = """query($sku: String!) { productVariants(first: 1, query: $sku) { nodes { sku inventoryItem {
      id inventoryLevels(first: 5) { nodes { location { id } quantities(names: ["available", "on_hand"]) {
      name quantity } } } } } } }"""

    node = graphql(shopify_fake, shop.domain, shopify_token, query,
                   {"sku": f"sku:{pink.sku}"}).json()["data"]["productVariants"]["nodes"][0]

    assert node["sku"] == "IPOD2008PINK"
    assert node["inventoryItem"]["inventoryLevels"]["nodes"] == [{
        "location": {"id": gid("Location", location.id)},
        "quantities": [{"name": "available", "quantity": 10}, {"name": "on_hand", "quantity": 10}]}]


def test_without_write_inventory_scope_the_set_is_denied(shopify_fake, stocked):
    shop, location, (pink, *_) = stocked
    token = shopify_fake.issue_token(shop.domain, scopes=["read_inventory"])

    body = graphql(shopify_fake, shop.domain, token, SET,
                   {"key": "k-11", "input": set_input(quantity(pink, location, 1, None))}).json()

    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert available(shop, pink, location) == 10
