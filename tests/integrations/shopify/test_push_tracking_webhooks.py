"""Stock pushes (inventorySetQuantities in 250-item batches, refused items failing alone, stale
changeFromQuantity re-read once), tracking (fulfillmentCreate, then fulfillmentTrackingInfoUpdate) and
webhook subscriptions, against the Shopify fake."""

from __future__ import annotations

import pytest

from core.http import Rejected
from integrations.channels.base import QuantityPush, TrackingPush, WebhookSubscription
from integrations.channels.shopify.adapter import FULFILLMENT_CREATE
from tests.fakes.shopify import ShopifyFake, gid, seed_catalog, seed_orders
from tests.fakes.shopify.fixtures import graphql


def creds(shop, token):
    return {"shop_domain": shop.domain, "access_token": token}


def pushes(shop, variants, quantity, *, previous=None):
    location = shop.primary_location()
    return [QuantityPush(listing_external_id=str(v.id), channel_ref=str(v.inventory_item_id),
                         location_external_id=str(location.id), quantity=quantity, previous_quantity=previous)
            for v in variants]


def set_calls(fake):
    return fake.calls(root_field="inventorySetQuantities")


def test_300_quantities_with_one_unknown_item_fail_it_alone(shopify_fake, shopify_shop, shopify_token, make_adapter):
    seed_catalog(shopify_shop, copies=75)  # 300 variants
    variants = sorted(shopify_shop.variants.values(), key=lambda v: v.id)
    items = pushes(shopify_shop, variants, 7)
    items[10] = QuantityPush(listing_external_id="gone", channel_ref="1",
                             location_external_id=items[10].location_external_id, quantity=7, previous_quantity=None)
    location = shopify_shop.primary_location()

    results = make_adapter(shopify_fake, creds(shopify_shop, shopify_token)).push_quantities(items)

    assert [r.listing_external_id for r in results] == [i.listing_external_id for i in items]
    assert [r for r in results if not r.ok] == [results[10]]
    assert results[10].error == "The specified inventory item could not be found."
    assert sum(r.ok for r in results) == 299
    assert all(r.channel_quantity == 7 for r in results if r.ok)
    calls = set_calls(shopify_fake)
    assert [len(c.variables["input"]["quantities"]) for c in calls] == [250, 249, 50]  # 2 batches + 1 resend
    assert [c.user_error_codes for c in calls] == [["INVALID_INVENTORY_ITEM"], [], []]
    assert len({c.variables["key"] for c in calls}) == 3  # the resend is a new request: a new key
    assert all(q["changeFromQuantity"] is None for c in calls for q in c.variables["input"]["quantities"])
    assert {shopify_shop.quantity(v.inventory_item_id, location.id) for i, v in enumerate(variants) if i != 10} == {7}
    assert len(shopify_shop.adjustment_groups) == 2


def test_stale_change_from_quantity_is_reread_and_retried_once(shopify_fake, shopify_shop, shopify_token,
                                                                make_adapter):
    seed_catalog(shopify_shop)
    pink, red, *_ = sorted(shopify_shop.variants.values(), key=lambda v: v.id)
    location = shopify_shop.primary_location()
    shopify_shop.set_quantity(pink.inventory_item_id, location.id, 9)  # sold on Shopify since we pushed 10
    red_now = shopify_shop.quantity(red.inventory_item_id, location.id)
    items = pushes(shopify_shop, [pink], 14, previous=10) + pushes(shopify_shop, [red], 3, previous=red_now)

    results = make_adapter(shopify_fake, creds(shopify_shop, shopify_token)).push_quantities(items)

    assert [(r.ok, r.channel_quantity) for r in results] == [(True, 14), (True, 3)]
    assert shopify_shop.quantity(pink.inventory_item_id, location.id) == 14
    assert shopify_shop.quantity(red.inventory_item_id, location.id) == 3
    calls = shopify_fake.calls()
    assert [c.root_fields for c in calls] == [["inventorySetQuantities"], ["inventoryItem"],
                                              ["inventorySetQuantities"]]  # only the stale item is re-read
    assert calls[0].user_error_codes == ["CHANGE_FROM_QUANTITY_STALE"]
    assert [q["changeFromQuantity"] for q in calls[2].variables["input"]["quantities"]] == [9, red_now]


def test_an_item_without_an_inventory_item_fails_without_a_call(shopify_fake, shopify_shop, shopify_token,
                                                                 make_adapter):
    seed_catalog(shopify_shop)
    (pink,) = pushes(shopify_shop, [shopify_shop.variant_by_sku("IPOD2008PINK")], 4)
    unmapped = QuantityPush(listing_external_id="77", channel_ref="", location_external_id="1", quantity=4,
                            previous_quantity=None)

    results = make_adapter(shopify_fake, creds(shopify_shop, shopify_token)).push_quantities([unmapped, pink])

    assert [(r.listing_external_id, r.ok) for r in results] == [("77", False), (pink.listing_external_id, True)]
    assert results[0].error == "no Shopify inventory item or location for this listing"
    (call,) = shopify_fake.calls()
    assert len(call.variables["input"]["quantities"]) == 1


def test_10000_items_take_the_minimum_40_calls(shopify_fake, shopify_shop, shopify_token, make_adapter):
    seed_catalog(shopify_shop, copies=2500)
    variants = sorted(shopify_shop.variants.values(), key=lambda v: v.id)
    assert len(variants) == 10_000

    results = make_adapter(shopify_fake, creds(shopify_shop, shopify_token)).push_quantities(
        pushes(shopify_shop, variants, 5))

    assert all(r.ok for r in results) and len(results) == 10_000
    assert len(shopify_fake.calls()) == 40 == 10_000 // 250
    location = shopify_shop.primary_location()
    assert shopify_shop.quantity(variants[-1].inventory_item_id, location.id) == 5


def test_a_500_during_a_push_is_retried_under_the_same_key_and_applied_once(shopify_fake, shopify_shop,
                                                                             shopify_token, make_adapter):
    seed_catalog(shopify_shop)
    variants = sorted(shopify_shop.variants.values(), key=lambda v: v.id)
    shopify_fake.fail_next(1, status=500)

    results = make_adapter(shopify_fake, creds(shopify_shop, shopify_token)).push_quantities(
        pushes(shopify_shop, variants, 2))

    assert all(r.ok for r in results)
    failed, served = shopify_fake.calls()
    assert (failed.status, failed.injected, served.status) == (500, True, 200)
    assert len(shopify_shop.adjustment_groups) == 1


def test_a_push_without_write_inventory_is_rejected(shopify_fake, shopify_shop, make_adapter):
    seed_catalog(shopify_shop)
    token = shopify_fake.issue_token(shopify_shop.domain, scopes=["read_inventory"])

    with pytest.raises(Rejected):
        make_adapter(shopify_fake, creds(shopify_shop, token)).push_quantities(
            pushes(shopify_shop, list(shopify_shop.variants.values())[:1], 1))

    assert len(shopify_fake.calls()) == 1


def test_tracking_creates_the_fulfillment_then_updates_it_after_a_reship(shopify_fake, shopify_shop, shopify_token,
                                                                          make_adapter):
    seed_catalog(shopify_shop)
    (order,) = seed_orders(shopify_shop, 1, lines=2, quantity=2)
    first_line, second_line = order.line_items
    adapter = make_adapter(shopify_fake, creds(shopify_shop, shopify_token))

    created = adapter.push_tracking(TrackingPush(
        order_external_id=str(order.id), lines=[(str(first_line.id), 2)], carrier="UPS",
        tracking_number="1ZOLD", tracking_url="https://carrier.example.test/1ZOLD"))
    updated = adapter.push_tracking(TrackingPush(
        order_external_id=str(order.id), lines=[(str(first_line.id), 2)], carrier="UPS",
        tracking_number="1ZNEW", previous_fulfillment_id=created.fulfillment_id))

    (fulfillment,) = shopify_shop.fulfillments.values()
    assert created.fulfillment_id == updated.fulfillment_id == str(fulfillment.id)
    assert fulfillment.lines == [(first_line.id, 2)]
    assert fulfillment.tracking == [{"company": "UPS", "number": "1ZNEW", "url": None}]
    assert fulfillment.notify_customer is True
    assert shopify_shop.orders[order.id].fulfillment_status == "PARTIALLY_FULFILLED"
    assert [c.root_fields for c in shopify_fake.calls()] == [
        ["order"], ["fulfillmentCreate"], ["fulfillmentTrackingInfoUpdate"]]
    rest = adapter.push_tracking(TrackingPush(order_external_id=str(order.id), lines=[], carrier="DHL",
                                              tracking_number="JD0001"))
    assert shopify_shop.fulfillments[int(rest.fulfillment_id)].lines == [(second_line.id, 2)]
    assert shopify_shop.orders[order.id].fulfillment_status == "FULFILLED"


def test_tracking_more_than_remains_is_rejected_before_calling_fulfillment_create(shopify_fake, shopify_shop,
                                                                                 shopify_token, make_adapter):
    seed_catalog(shopify_shop)
    (order,) = seed_orders(shopify_shop, 1, lines=1, quantity=1)

    with pytest.raises(Rejected) as refused:
        make_adapter(shopify_fake, creds(shopify_shop, shopify_token)).push_tracking(TrackingPush(
            order_external_id=str(order.id), lines=[(str(order.line_items[0].id), 3)], carrier="UPS",
            tracking_number="1Z"))

    assert f"{order.line_items[0].id} (2)" in refused.value.message
    assert shopify_shop.fulfillments == {}


def test_webhooks_register_once_list_and_remove(shopify_fake, shopify_shop, shopify_token, make_adapter):
    adapter = make_adapter(shopify_fake, creds(shopify_shop, shopify_token))
    url = "https://switchboard.example.test/webhooks/shopify/tok/"

    registered = adapter.webhooks_register(url, list(adapter.webhook_topics))
    again = adapter.webhooks_register(url, list(adapter.webhook_topics))
    listed = adapter.webhooks_list()
    adapter.webhooks_remove([registered[0].id, registered[1].id])
    after = adapter.webhooks_list()

    assert [s.topic for s in registered] == ["orders/create", "orders/updated", "orders/cancelled",
                                             "orders/paid", "products/update", "inventory_levels/update", "app/uninstalled"]
    assert sorted(s.topic.lower() for s in shopify_shop.webhooks.values()) == sorted(
        s.topic.replace("/", "_") for s in after)
    assert sorted(again, key=lambda s: s.id) == sorted(registered, key=lambda s: s.id) == sorted(listed, key=lambda s: s.id)
    assert len(shopify_fake.calls(root_field="webhookSubscriptionCreate")) == 7  # the second register made none
    assert {s.url for s in listed} == {url}
    assert after == [s for s in listed if s.id not in (registered[0].id, registered[1].id)]
    assert all(isinstance(s, WebhookSubscription) and s.id.isdigit() for s in listed)
    assert {sub.topic for sub in shopify_shop.webhooks.values()} == {
        "ORDERS_CANCELLED", "ORDERS_PAID", "PRODUCTS_UPDATE", "INVENTORY_LEVELS_UPDATE", "APP_UNINSTALLED"}


class LostAnswerFake(ShopifyFake):
    """Shopify executes the first `root_field` mutation and the answer is lost on the way back (a 502 from
    a proxy, a dropped connection): what a retry must not turn into a second effect."""

    def __init__(self, root_field, **options):
        super().__init__(**options)
        self.root_field, self.lost = root_field, 0

    def handle(self, method, raw_path, headers, body):
        answer = super().handle(method, raw_path, headers, body)
        if not self.lost and self.log and self.root_field in self.log[-1].root_fields:
            self.lost += 1
            return 502, {"Content-Type": "application/json"}, b'{"errors":"Bad Gateway"}'
        return answer


@pytest.fixture
def lost_create_answer():
    fake = LostAnswerFake("fulfillmentCreate").start()
    yield fake
    fake.stop()


def test_a_lost_answer_to_fulfillment_create_fulfils_once(lost_create_answer, make_adapter):
    fake = lost_create_answer
    shop = fake.add_shop()
    seed_catalog(shop)
    (order,) = seed_orders(shop, 1, lines=1, quantity=1)
    adapter = make_adapter(fake, creds(shop, fake.issue_token(shop.domain)))
    push = TrackingPush(order_external_id=str(order.id), lines=[(str(order.line_items[0].id), 1)], carrier="UPS",
                        tracking_number="1ZONCE")

    result = adapter.push_tracking(push)
    again = adapter.push_tracking(push)  # the outbox row retried after a crash

    (fulfillment,) = shop.fulfillments.values()
    assert result.fulfillment_id == again.fulfillment_id == str(fulfillment.id)
    assert fake.lost == 1
    creates = fake.calls(root_field="fulfillmentCreate")
    assert [c.status for c in creates] == [200, 200]  # executed, answer lost; the retry refused for want of quantity
    assert len(fake.calls(root_field="order")) == 3  # before, after the refusal, and the second push's look


class SaleBetweenReadAndResend(ShopifyFake):
    """A sale lands on Shopify right after we re-read a stale quantity, so the resend is stale again."""

    def __init__(self, sell, **options):
        super().__init__(**options)
        self.sell = sell

    def handle(self, method, raw_path, headers, body):
        answer = super().handle(method, raw_path, headers, body)
        if self.log and self.log[-1].root_fields == ["inventoryItem"]:
            self.sell(self)
        return answer


def test_an_item_stale_again_after_the_reread_fails_alone_with_shopifys_reason(make_adapter):
    def sell(fake):
        shop = fake.shops["demo-store.myshopify.com"]
        pink = shop.variant_by_sku("IPOD2008PINK")
        shop.set_quantity(pink.inventory_item_id, shop.primary_location().id, 8)

    fake = SaleBetweenReadAndResend(sell).start()
    try:
        shop = fake.add_shop()
        seed_catalog(shop)
        location = shop.primary_location()
        pink, red = shop.variant_by_sku("IPOD2008PINK"), shop.variant_by_sku("IPOD2008RED")
        shop.set_quantity(pink.inventory_item_id, location.id, 9)
        red_now = shop.quantity(red.inventory_item_id, location.id)

        results = make_adapter(fake, creds(shop, fake.issue_token(shop.domain))).push_quantities(
            pushes(shop, [pink], 14, previous=10) + pushes(shop, [red], 3, previous=red_now))
    finally:
        fake.stop()

    assert [(r.ok, r.error, r.channel_quantity) for r in results] == [
        (False, "The changeFromQuantity value does not match persisted value.", None), (True, "", 3)]  # no guess
    assert shop.quantity(pink.inventory_item_id, location.id) == 8
    assert shop.quantity(red.inventory_item_id, location.id) == 3
    assert len(fake.calls(root_field="inventorySetQuantities")) == 3  # refused, resent stale again, the rest alone


def test_an_order_assigned_to_two_locations_gets_one_fulfillment_per_location(shopify_fake, shopify_shop,
                                                                              shopify_token, make_adapter):
    # given an order whose second line Shopify routed to another location
    seed_catalog(shopify_shop)
    overflow = shopify_shop.add_location("Overflow")
    (order,) = seed_orders(shopify_shop, 1, lines=3, quantity=1)
    first, second, third = order.line_items
    shopify_shop.assign_lines(order.id, overflow.id, [second.id])
    adapter = make_adapter(shopify_fake, creds(shopify_shop, shopify_token))
    push = TrackingPush(order_external_id=str(order.id), carrier="UPS", tracking_number="1ZMULTI",
                        lines=[(str(first.id), 1), (str(second.id), 1), (str(third.id), 1)])

    # when the shipment's tracking is pushed, and pushed again (an answer lost, a retry)
    result = adapter.push_tracking(push)
    again = adapter.push_tracking(push)

    # then one fulfillmentCreate per location, each with that location's lines, and the retry creates nothing
    by_id = {str(f.id): f for f in shopify_shop.fulfillments.values()}
    assert sorted(result.fulfillment_id.split(",")) == sorted(by_id)
    assert again.fulfillment_id == result.fulfillment_id
    assert sorted(sorted(f.lines) for f in by_id.values()) == sorted([sorted([(first.id, 1), (third.id, 1)]),
                                                                       [(second.id, 1)]])
    assert all(f.tracking == [{"company": "UPS", "number": "1ZMULTI", "url": None}] for f in by_id.values())
    assert len(shopify_fake.calls(root_field="fulfillmentCreate")) == 2
    assert all(c.status == 200 for c in shopify_fake.calls())
    assert shopify_shop.orders[order.id].fulfillment_status == "FULFILLED"


def test_a_multi_location_push_cut_short_creates_only_the_missing_location_on_retry(shopify_fake, shopify_shop,
                                                                                    shopify_token, make_adapter):
    # given an order over two locations, everything left to ship, and the primary location's fulfillment
    # already made with this tracking number by an earlier attempt that failed before the second
    seed_catalog(shopify_shop)
    overflow = shopify_shop.add_location("Overflow")
    (order,) = seed_orders(shopify_shop, 1, lines=2, quantity=2)
    shopify_shop.assign_lines(order.id, overflow.id, [order.line_items[1].id])
    primary = next(fo for fo in shopify_shop.fulfillment_orders_of(order.id)
                   if fo.location_id == shopify_shop.primary_location().id)
    earlier = graphql(shopify_fake, shopify_shop.domain, shopify_token, FULFILLMENT_CREATE, {"f": {
        "trackingInfo": {"company": "DHL", "number": "JD42"},
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": gid("FulfillmentOrder", primary.id)}]}}).json()
    adapter = make_adapter(shopify_fake, creds(shopify_shop, shopify_token))

    # when it is pushed again
    result = adapter.push_tracking(TrackingPush(order_external_id=str(order.id), lines=[], carrier="DHL",
                                                tracking_number="JD42"))

    # then only the other location is fulfilled, and the result names both fulfillments
    assert earlier["data"]["fulfillmentCreate"]["userErrors"] == []
    assert len(shopify_fake.calls(root_field="fulfillmentCreate")) == 2  # the earlier attempt's and ours
    assert sorted(result.fulfillment_id.split(",")) == sorted(str(f) for f in shopify_shop.fulfillments)
    assert sorted(f.lines for f in shopify_shop.fulfillments.values()) == sorted(
        [[(order.line_items[0].id, 2)], [(order.line_items[1].id, 2)]])
    assert shopify_shop.orders[order.id].fulfillment_status == "FULFILLED"
