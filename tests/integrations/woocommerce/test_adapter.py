"""The WooCommerce adapter against the fake store, for what the conformance suite does not pin down: the
order window's parameters, variations listed under their parent, batches of 100 with manage_stock turned on,
tracking notes (or the Shipment Tracking extension) and completion with the last parcel only, webhooks made
with our own secret and re-activated after WooCommerce disabled them, and a read-only key reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.http import AuthFailed
from integrations.channels.base import QuantityPush, TrackingPush
from integrations.channels.woocommerce.adapter import ORDERS_OVERLAP
from tests.fakes.woocommerce import WooCommerceFake


def test_orders_are_asked_by_gmt_modified_window_oldest_first(woo_fake, woo_key, make_adapter):
    mug = woo_fake.store.add_product("MUG-1")
    old = woo_fake.store.add_order([(mug, 1)], modified_gmt=datetime(2026, 1, 1, 10, 0))
    recent = woo_fake.store.add_order([(mug, 2)], modified_gmt=datetime(2026, 1, 1, 11, 55))
    since = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    page = make_adapter(woo_fake, woo_key).fetch_orders(since)

    [call] = woo_fake.calls(path="/orders")
    params = {k: v[-1] for k, v in call.query.items()}
    assert {k: params[k] for k in ("modified_after", "dates_are_gmt", "orderby", "order", "per_page", "page")} == {
        "modified_after": (since - ORDERS_OVERLAP).strftime("%Y-%m-%dT%H:%M:%S"), "dates_are_gmt": "true",
        "orderby": "modified", "order": "asc", "per_page": "100", "page": "1"}
    assert [o.external_id for o in page.items] == [str(recent["id"])] and str(old["id"]) != str(recent["id"])
    assert page.next_cursor is None


def test_orders_page_on_until_the_last_and_drafts_are_left_out(woo_fake, woo_key, make_adapter):
    mug = woo_fake.store.add_product("MUG-1")
    start = datetime(2026, 1, 1, 0, 0)
    for n in range(205):
        woo_fake.store.add_order([(mug, 1)], modified_gmt=start + timedelta(minutes=n))
    woo_fake.store.add_order([(mug, 1)], status="checkout-draft", modified_gmt=start + timedelta(hours=9))
    adapter = make_adapter(woo_fake, woo_key)

    first = adapter.fetch_orders(None)
    second = adapter.fetch_orders(None, first.next_cursor)
    third = adapter.fetch_orders(None, second.next_cursor)

    assert (len(first.items), len(second.items), len(third.items)) == (100, 100, 5)
    assert (first.next_cursor, second.next_cursor, third.next_cursor) == ("2", "3", None)


def test_listings_are_simple_products_and_variations_never_the_variable_parent(woo_fake, woo_key, make_adapter):
    woo_fake.store.add_product("MUG-1", stock_quantity=4)
    parent = woo_fake.store.add_variable_product("TEE", [{"sku": "TEE-S", "stock_quantity": 2},
                                                         {"sku": "", "stock_quantity": 1, "manage_stock": False}])

    page = make_adapter(woo_fake, woo_key).fetch_listings()

    by_sku = {(i.sku, i.quantity): i for i in page.items}
    assert sorted(by_sku) == [("MUG-1", 4), ("TEE", None), ("TEE-S", 2)]
    assert by_sku[("TEE-S", 2)].channel_data == {"parent_id": parent["id"], "type": "variation", "manage_stock": True}
    assert by_sku[("TEE", None)].channel_data["manage_stock"] is False
    assert all(i.external_id != str(parent["id"]) for i in page.items)


def _pushes(listings, quantity):
    return [QuantityPush(listing_external_id=i.external_id, channel_ref=i.channel_ref, location_external_id="",
                         quantity=quantity, previous_quantity=None, channel_data=i.channel_data) for i in listings]


def test_stock_goes_in_batches_of_100_per_grouping_with_manage_stock_on(woo_fake, woo_key, make_adapter):
    for n in range(150):
        woo_fake.store.add_product(f"S-{n:03}", stock_quantity=1, manage_stock=n != 0)
    parents = [woo_fake.store.add_variable_product(f"P{p}", [{"sku": f"P{p}-{v}"} for v in range(3)])
               for p in range(2)]
    adapter = make_adapter(woo_fake, woo_key)
    listings = [*adapter.fetch_listings().items, *adapter.fetch_listings("2").items]

    results = adapter.push_quantities(_pushes(listings, 9))

    assert len(results) == 156 and all(r.ok and r.channel_quantity == 9 for r in results)
    batches = woo_fake.calls(method="POST", path=r"/products(/\d+/variations)?/batch")
    assert sorted(len(c.body["update"]) for c in batches) == [3, 3, 50, 100]
    assert all(u["manage_stock"] is True for c in batches for u in c.body["update"])
    assert {p["stock_quantity"] for p in woo_fake.store.products.values() if p["type"] != "variable"} == {9}
    assert {c.path for c in batches} >= {f"/wp-json/wc/v3/products/{p['id']}/variations/batch" for p in parents}


def test_an_item_woocommerce_refuses_fails_alone_with_its_message(woo_fake, woo_key, make_adapter):
    a, b = woo_fake.store.add_product("A"), woo_fake.store.add_product("B")
    woo_fake.reject_item(b["id"], "product_invalid_sku", "Invalid or duplicated SKU.")
    adapter = make_adapter(woo_fake, woo_key)

    results = adapter.push_quantities(_pushes(adapter.fetch_listings().items, 5))

    assert sorted((r.listing_external_id, r.ok, r.error) for r in results) == [
        (str(a["id"]), True, ""), (str(b["id"]), False, "Invalid or duplicated SKU.")]
    assert woo_fake.store.products[a["id"]]["stock_quantity"] == 5


def _track(order, number, *, is_final):
    return TrackingPush(order_external_id=str(order["id"]), lines=[], carrier="UPS", tracking_number=number,
                        service="Ground", is_final=is_final)


def test_each_parcel_is_a_customer_note_and_the_last_completes_the_order(woo_fake, woo_key, make_adapter):
    mug = woo_fake.store.add_product("MUG-1")
    order = woo_fake.store.add_order([(mug, 2)])
    adapter = make_adapter(woo_fake, woo_key)

    first = adapter.push_tracking(_track(order, "1ZFIRST", is_final=False))
    status_after_first = woo_fake.store.orders[order["id"]]["status"]
    adapter.push_tracking(_track(order, "1ZLAST", is_final=True))
    adapter.push_tracking(_track(order, "1ZLAST", is_final=True))  # a retry: nothing more

    notes = woo_fake.store.notes[order["id"]]
    assert status_after_first == "processing"
    assert woo_fake.store.orders[order["id"]]["status"] == "completed"
    assert [n["customer_note"] for n in notes] == [True, True]
    assert notes[0]["note"].splitlines() == ["Shipped with UPS Ground.", "Tracking number: 1ZFIRST",
                                             "Track it: https://www.ups.com/track?tracknum=1ZFIRST"]
    assert first.fulfillment_id == str(notes[0]["id"])
    assert len(woo_fake.calls(method="PUT", path=rf"/orders/{order['id']}")) == 1


def test_with_the_shipment_tracking_extension_its_endpoint_is_used_instead_of_a_note(woo_key, make_adapter):
    with WooCommerceFake(shipment_tracking=True) as fake:
        key = fake.add_key()
        mug = fake.store.add_product("MUG-1")
        order = fake.store.add_order([(mug, 1)])
        adapter = make_adapter(fake, key)

        result = adapter.push_tracking(_track(order, "1ZEXT", is_final=True))
        again = adapter.push_tracking(_track(order, "1ZEXT", is_final=True))

        [tracking] = fake.store.trackings[order["id"]]
        assert (tracking["tracking_number"], tracking["tracking_provider"]) == ("1ZEXT", "UPS Ground")
        assert result == again and result.fulfillment_id == tracking["tracking_id"]
        assert fake.store.notes.get(order["id"], []) == []
        assert fake.store.orders[order["id"]]["status"] == "completed"


def test_webhooks_are_made_with_our_own_secret_and_disabled_ones_are_made_active_again(
        woo_fake, woo_key, woo_receiver, make_adapter):
    adapter = make_adapter(woo_fake, woo_key)

    report = adapter.subscriptions_ensure(woo_receiver.url)
    secret = adapter.saved[-1]["webhook_secret"]
    hooks = list(woo_fake.store.webhooks.values())
    hooks[0].status = "disabled"  # WooCommerce gave up on it after failed deliveries
    del woo_fake.store.webhooks[hooks[1].id]  # the merchant deleted one
    again = make_adapter(woo_fake, woo_key, credentials=adapter.credentials).subscriptions_ensure(woo_receiver.url)

    assert report.ok and again.ok and sorted(report.topics) == sorted(again.topics) == [
        "order.created", "order.deleted", "order.updated", "product.updated"]
    assert len(secret) >= 40
    assert {h.secret for h in woo_fake.store.webhooks.values()} == {secret}
    assert sorted(h.status for h in woo_fake.store.webhooks.values()) == ["active"] * 4
    assert len(woo_fake.calls(method="POST", path="/webhooks")) == 5
    assert len([d for d in woo_fake.deliveries if d.topic is None and d.status == 200]) == 5  # each ping answered


def test_subscriptions_remove_deletes_ours_only(woo_fake, woo_key, woo_receiver, make_adapter):
    adapter = make_adapter(woo_fake, woo_key)
    adapter.subscriptions_ensure(woo_receiver.url)
    adapter.client.create_webhook(topic="order.created", delivery_url="https://other.example.test/hook",
                                  secret="theirs", name="Their ERP")

    removed = adapter.subscriptions_remove(None)

    assert removed == 4
    assert [h.name for h in woo_fake.store.webhooks.values()] == ["Their ERP"]


def test_a_read_only_key_is_reported_as_missing_write_and_a_revoked_one_raises(woo_fake, make_adapter):
    read_only = woo_fake.add_key(permissions="read")
    full = woo_fake.add_key()

    limited = make_adapter(woo_fake, read_only).test_connection()
    whole = make_adapter(woo_fake, full).test_connection()
    woo_fake.revoke_key(full.consumer_key)

    assert (limited.scopes, limited.missing_scopes) == (["read"], ["write"])
    assert (whole.shop_name, whole.scopes, whole.missing_scopes, whole.locations) == (
        "Fake Woo Store", ["read", "write"], [], [])
    with pytest.raises(AuthFailed):
        make_adapter(woo_fake, full).test_connection()
