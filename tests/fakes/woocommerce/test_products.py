"""Products and variations: listing, SKU inheritance, stock ignored while manage_stock is off, and the
batch endpoints' 100-object limit and per-item errors."""

from __future__ import annotations

from .client_for_tests import oauth_call


def test_products_list_has_no_variations_and_variations_have_their_own_route(woo_fake, woo_key):
    simple = woo_fake.store.add_product("MUG-1")
    parent = woo_fake.store.add_variable_product("TEE", [{"sku": "TEE-S"}, {"sku": "TEE-M"}])

    products = oauth_call(woo_fake, woo_key, "GET", "/products")
    variations = oauth_call(woo_fake, woo_key, "GET", f"/products/{parent['id']}/variations")

    assert sorted((p["id"], p["type"]) for p in products.json()) == [(simple["id"], "simple"), (parent["id"], "variable")]
    assert [(v["sku"], v["parent_id"], v["type"]) for v in sorted(variations.json(), key=lambda v: v["id"])] == [
        ("TEE-S", parent["id"], "variation"), ("TEE-M", parent["id"], "variation")]
    assert variations.headers["X-WP-Total"] == "2"


def test_a_variation_without_its_own_sku_reports_its_parents(woo_fake, woo_key):
    parent = woo_fake.store.add_variable_product("TEE", [{"sku": ""}, {"sku": "TEE-M"}])

    variations = oauth_call(woo_fake, woo_key, "GET", f"/products/{parent['id']}/variations")

    assert sorted(v["sku"] for v in variations.json()) == ["TEE", "TEE-M"]


def test_stock_quantity_is_ignored_while_manage_stock_is_off(woo_fake, woo_key):
    product = woo_fake.store.add_product("MUG-1", manage_stock=False)

    ignored = oauth_call(woo_fake, woo_key, "PUT", f"/products/{product['id']}", json={"stock_quantity": 7})
    managed = oauth_call(woo_fake, woo_key, "PUT", f"/products/{product['id']}",
                         json={"manage_stock": True, "stock_quantity": 7})
    emptied = oauth_call(woo_fake, woo_key, "PUT", f"/products/{product['id']}", json={"stock_quantity": 0})

    assert ignored.status_code == 200
    assert (ignored.json()["manage_stock"], ignored.json()["stock_quantity"]) == (False, None)
    assert (managed.json()["manage_stock"], managed.json()["stock_quantity"], managed.json()["stock_status"]) == (
        True, 7, "instock")
    assert (emptied.json()["stock_quantity"], emptied.json()["stock_status"]) == (0, "outofstock")


def test_a_batch_updates_stock_and_fails_only_the_item_with_an_error(woo_fake, woo_key):
    a = woo_fake.store.add_product("A", stock_quantity=1)
    b = woo_fake.store.add_product("B", stock_quantity=1)
    woo_fake.reject_item(b["id"], "product_invalid_sku", "Invalid or duplicated SKU.")

    response = oauth_call(woo_fake, woo_key, "POST", "/products/batch", json={"update": [
        {"id": a["id"], "stock_quantity": 9}, {"id": b["id"], "stock_quantity": 9}, {"id": 424242, "stock_quantity": 9}]})

    assert response.status_code == 200
    updates = response.json()["update"]
    assert (updates[0]["id"], updates[0]["stock_quantity"]) == (a["id"], 9)
    assert updates[1] == {"id": b["id"], "error": {"code": "product_invalid_sku", "message": "Invalid or duplicated SKU.",
                                                   "data": {"status": 400, "resource_id": b["id"]}}}
    assert updates[2]["id"] == 424242
    assert updates[2]["error"]["code"] == "woocommerce_rest_product_invalid_id"
    assert woo_fake.store.products[a["id"]]["stock_quantity"] == 9
    assert woo_fake.store.products[b["id"]]["stock_quantity"] == 1


def test_more_than_100_objects_in_a_batch_is_413_and_changes_nothing(woo_fake, woo_key):
    products = [woo_fake.store.add_product(f"SKU-{i}", stock_quantity=1) for i in range(101)]

    too_many = oauth_call(woo_fake, woo_key, "POST", "/products/batch",
                          json={"update": [{"id": p["id"], "stock_quantity": 5} for p in products]})
    exactly_100 = oauth_call(woo_fake, woo_key, "POST", "/products/batch",
                             json={"update": [{"id": p["id"], "stock_quantity": 5} for p in products[:100]]})

    assert too_many.status_code == 413
    assert too_many.json() == {"code": "woocommerce_rest_request_entity_too_large",
                               "message": "Unable to accept more than 100 items for this request.",
                               "data": {"status": 413}}
    assert exactly_100.status_code == 200
    assert [woo_fake.store.products[p["id"]]["stock_quantity"] for p in products[99:]] == [5, 1]


def test_a_variations_batch_updates_only_that_parents_variations(woo_fake, woo_key):
    tee = woo_fake.store.add_variable_product("TEE", [{"sku": "TEE-S", "stock_quantity": 1},
                                                      {"sku": "TEE-M", "stock_quantity": 1, "manage_stock": False}])
    other = woo_fake.store.add_variable_product("CAP", [{"sku": "CAP-1", "stock_quantity": 1}])
    small, medium = tee["variations"]

    response = oauth_call(woo_fake, woo_key, "POST", f"/products/{tee['id']}/variations/batch", json={"update": [
        {"id": small, "stock_quantity": 4}, {"id": medium, "manage_stock": True, "stock_quantity": 6},
        {"id": other["variations"][0], "stock_quantity": 8}]})

    updates = response.json()["update"]
    assert [u.get("stock_quantity") for u in updates[:2]] == [4, 6]
    assert updates[2]["error"]["code"] == "woocommerce_rest_product_variation_invalid_id"
    assert woo_fake.store.products[other["variations"][0]]["stock_quantity"] == 1


def test_a_variations_batch_over_100_is_413(woo_fake, woo_key):
    tee = woo_fake.store.add_variable_product("TEE", [{"sku": f"TEE-{i}"} for i in range(101)])

    response = oauth_call(woo_fake, woo_key, "POST", f"/products/{tee['id']}/variations/batch",
                          json={"update": [{"id": vid, "stock_quantity": 1} for vid in tee["variations"]]})

    assert response.status_code == 413
    assert response.json()["code"] == "woocommerce_rest_request_entity_too_large"
