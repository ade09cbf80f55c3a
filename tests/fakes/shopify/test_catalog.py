"""Listings and locations as the connect job reads them: variants with SKU, legacy id and inventory item,
paged; the shop's locations."""

from __future__ import annotations

from tests.fakes.shopify import gid, seed_catalog
from tests.fakes.shopify.fixtures import graphql

VARIANTS = """query Variants($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id legacyResourceId sku price product { id title } inventoryItem { id legacyResourceId } }
  }
}"""


def test_variants_page_through_every_listing_once(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop, copies=10)  # 40 variants
    seen, after = [], None
    while True:
        page = graphql(shopify_fake, shopify_shop.domain, shopify_token, VARIANTS,
                       {"first": 15, "after": after}).json()["data"]["productVariants"]
        seen += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    variants = sorted(shopify_shop.variants.values(), key=lambda v: v.id)
    assert [(n["sku"], n["legacyResourceId"], n["inventoryItem"]["id"]) for n in seen] == [
        (v.sku, str(v.id), gid("InventoryItem", v.inventory_item_id)) for v in variants]
    assert seen[0]["sku"] == "IPOD2008PINK" and seen[-1]["sku"] == "IPOD2008BLACK-9"
    assert seen[0]["price"] == "199.00"
    assert len(shopify_fake.calls()) == 3


def test_sku_search_finds_one_variant(shopify_fake, shopify_shop, shopify_token):
    seed_catalog(shopify_shop, copies=2)

    nodes = graphql(shopify_fake, shopify_shop.domain, shopify_token,
                    'query { inventoryItems(first: 5, query: "sku:ipod2008red-1") { nodes { sku } } }'
                    ).json()["data"]["inventoryItems"]["nodes"]

    assert nodes == [{"sku": "IPOD2008RED-1"}]


def test_locations_list_the_shops_locations(shopify_fake, shopify_token, shopify_shop):
    second = shopify_shop.add_location("Overflow")

    nodes = graphql(shopify_fake, shopify_shop.domain, shopify_token,
                    "query { locations(first: 10) { nodes { id name isActive isPrimary } } }"
                    ).json()["data"]["locations"]["nodes"]

    assert nodes == [
        {"id": gid("Location", shopify_shop.primary_location().id), "name": "Main warehouse", "isActive": True,
         "isPrimary": True},
        {"id": gid("Location", second.id), "name": "Overflow", "isActive": True, "isPrimary": False}]
