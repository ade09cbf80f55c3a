"""Connection, listings and orders from the Shopify fake through the adapter: pages sized under the
1,000-point query maximum, every order once, the updated_at overlap, big orders completed, throttling
obeyed, and 429/5xx storms that cost retries but double nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.http import AuthFailed, Rejected
from integrations.channels.base import ChannelLocation
from integrations.channels.shopify.adapter import ORDERS_OVERLAP, ORDERS_PER_PAGE
from integrations.channels.shopify.mapping import order_from_rest
from tests.fakes.shopify import seed_catalog, seed_orders


def creds(shop, token):
    return {"shop_domain": shop.domain, "access_token": token}


def all_orders(adapter, updated_since=None):
    seen, cursor, pages = [], None, 0
    while True:
        page = adapter.fetch_orders(updated_since, cursor)
        seen += page.items
        pages += 1
        if page.next_cursor is None:
            return seen, pages
        cursor = page.next_cursor


def test_connection_reports_shop_scopes_missing_scopes_and_locations(shopify_fake, shopify_shop, make_adapter):
    overflow = shopify_shop.add_location("Overflow")
    main = shopify_shop.primary_location()
    token = shopify_fake.issue_token(shopify_shop.domain, scopes=["read_orders", "write_inventory", "read_products"])

    report = make_adapter(shopify_fake, creds(shopify_shop, token)).test_connection()

    assert report.shop_name == "Demo Store"
    assert report.scopes == ["read_orders", "read_products", "write_inventory"]
    assert report.missing_scopes == ["read_locations", "read_merchant_managed_fulfillment_orders",
                                     "write_merchant_managed_fulfillment_orders"]
    assert report.locations == []  # read_locations is missing: reported, not an error
    assert len(shopify_fake.calls()) == 1

    full = make_adapter(shopify_fake, creds(shopify_shop, shopify_fake.issue_token(shopify_shop.domain)))
    assert full.test_connection().locations == [ChannelLocation(str(main.id), "Main warehouse", True),
                                                ChannelLocation(str(overflow.id), "Overflow", False)]


def test_connection_with_every_scope_misses_nothing(shopify_fake, shopify_shop, shopify_token, make_adapter):
    report = make_adapter(shopify_fake, creds(shopify_shop, shopify_token)).test_connection()

    assert report.missing_scopes == []
    assert report.locations == [ChannelLocation(str(shopify_shop.primary_location().id), "Main warehouse", True)]


def test_a_revoked_token_is_auth_failed_and_not_retried(shopify_fake, shopify_shop, shopify_token, make_adapter):
    shopify_fake.revoke(shopify_token)

    with pytest.raises(AuthFailed) as failed:
        make_adapter(shopify_fake, creds(shopify_shop, shopify_token)).test_connection()

    assert failed.value.status == 401
    assert [c.status for c in shopify_fake.calls()] == [401]


def test_a_graphql_error_is_rejected(shopify_fake, shopify_shop, make_adapter):
    token = shopify_fake.issue_token(shopify_shop.domain, scopes=["read_products"])

    with pytest.raises(Rejected) as refused:
        make_adapter(shopify_fake, creds(shopify_shop, token)).fetch_orders(None)

    assert "read_orders" in refused.value.message or "Access denied" in refused.value.message
    assert len(shopify_fake.calls()) == 1


def test_listings_page_through_every_variant_once(shopify_fake, shopify_shop, shopify_token, make_adapter):
    seed_catalog(shopify_shop, copies=70)  # 280 variants: two pages
    adapter = make_adapter(shopify_fake, creds(shopify_shop, shopify_token))

    first = adapter.fetch_listings()
    second = adapter.fetch_listings(first.next_cursor)

    variants = sorted(shopify_shop.variants.values(), key=lambda v: v.id)
    assert (len(first.items), len(second.items), second.next_cursor) == (250, 30, None)
    assert [(li.external_id, li.channel_ref, li.sku) for li in first.items + second.items] == [
        (str(v.id), str(v.inventory_item_id), v.sku) for v in variants]
    assert first.items[0].title == "IPod Nano - 8GB - Pink"
    assert first.items[0].quantity == shopify_shop.quantity(variants[0].inventory_item_id,
                                                            shopify_shop.primary_location().id)
    assert all(c.requested_cost <= 1000 for c in shopify_fake.calls())


def test_a_thousand_orders_arrive_across_pages_each_once_and_throttling_is_waited_out(
        clocked_fake, manual_clock, make_adapter):
    shop = clocked_fake.add_shop()
    seed_catalog(shop)
    seeded = seed_orders(shop, 1000, lines=2, start=datetime(2026, 10, 1, tzinfo=UTC), step=timedelta(minutes=1))
    token = clocked_fake.issue_token(shop.domain)
    started = manual_clock.time()

    orders, pages = all_orders(make_adapter(clocked_fake, creds(shop, token), clock=manual_clock))

    assert len(orders) == 1000
    assert [o.external_id for o in orders] == [str(o.id) for o in seeded]
    assert pages == -(-1000 // ORDERS_PER_PAGE)
    calls = clocked_fake.calls()
    assert len(calls) == pages  # the client waited for the bucket: not one THROTTLED
    assert all(not c.error_codes for c in calls)
    assert max(c.requested_cost for c in calls) <= 1000
    assert max(c.requested_cost for c in calls) > 900  # and the pages are as big as the maximum allows
    assert manual_clock.time() - started > 60  # 1,000 orders overdraw a 2,000-point bucket: it waited
    sample, fake_order = orders[500], seeded[500]
    assert sample.total == fake_order.total and isinstance(sample.total, Decimal)
    assert [(li.external_id, li.sku, li.quantity, li.unit_price) for li in sample.lines] == [
        (str(li.id), li.sku, li.quantity, li.price) for li in fake_order.line_items]


def test_throttled_answer_is_waited_out_by_shopifys_formula_and_sent_again(clocked_fake, manual_clock, make_adapter):
    shop = clocked_fake.add_shop()
    seed_catalog(shop)
    seed_orders(shop, 3)
    token = clocked_fake.issue_token(shop.domain)
    clocked_fake.set_bucket(shop.domain, "custom-app", 0)
    started = manual_clock.time()

    page = make_adapter(clocked_fake, creds(shop, token), clock=manual_clock).fetch_orders(None)

    throttled, served = clocked_fake.calls()
    assert throttled.error_codes == ["THROTTLED"]
    assert served.error_codes == [] and served.status == 200
    assert len(page.items) == 3
    # (requestedQueryCost - currentlyAvailable) / restoreRate, with the bucket at 0 and 100 points a second
    assert manual_clock.time() - started >= throttled.requested_cost / 100.0


def test_updated_since_rereads_the_overlap_and_nothing_older(clocked_fake, manual_clock, make_adapter):
    shop = clocked_fake.add_shop()
    seed_catalog(shop)
    start = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    seeded = seed_orders(shop, 40, start=start, step=timedelta(minutes=1))
    token = clocked_fake.issue_token(shop.domain)
    checkpoint = start + timedelta(minutes=30)
    shop.touch_order(seeded[2].id, start + timedelta(hours=2), financial_status="REFUNDED")

    orders, _ = all_orders(make_adapter(clocked_fake, creds(shop, token), clock=manual_clock), checkpoint)

    first_kept = int(30 - ORDERS_OVERLAP.total_seconds() / 60)
    assert [o.external_id for o in orders] == [str(o.id) for o in seeded[first_kept:]] + [str(seeded[2].id)]
    assert orders[-1].payment_status == "refunded"
    assert clocked_fake.calls()[0].variables["q"] == "updated_at:>='2026-10-01T09:20:00Z'"


def test_an_order_with_260_lines_is_completed_by_paging_its_line_items(shopify_fake, shopify_shop, shopify_token,
                                                                        make_adapter):
    seed_catalog(shopify_shop, copies=100)
    (big,) = seed_orders(shopify_shop, 1, lines=260)
    seed_orders(shopify_shop, 1, lines=2)

    orders, _ = all_orders(make_adapter(shopify_fake, creds(shopify_shop, shopify_token)))

    assert [len(o.lines) for o in orders] == [260, 2]
    assert [li.external_id for li in orders[0].lines] == [str(li.id) for li in big.line_items]
    assert [c.root_fields for c in shopify_fake.calls()] == [["orders"], ["order"], ["order"]]
    assert all(c.requested_cost <= 1000 for c in shopify_fake.calls())


def test_a_429_storm_and_a_500_mid_backfill_cost_retries_and_double_nothing(shopify_fake, make_adapter):
    shop = shopify_fake.add_shop(plan="plus")
    seed_catalog(shop)
    seeded = seed_orders(shop, 100)
    token = shopify_fake.issue_token(shop.domain)
    adapter = make_adapter(shopify_fake, creds(shop, token))

    first = adapter.fetch_orders(None)
    shopify_fake.fail_next(3, status=429, retry_after=0.02)
    shopify_fake.fail_next(1, status=500)
    rest, pages = all_orders_from(adapter, first.next_cursor)

    ids = [o.external_id for o in first.items + rest]
    assert ids == [str(o.id) for o in seeded]
    assert len(set(ids)) == 100
    assert [c.status for c in shopify_fake.calls() if c.injected] == [429, 429, 429, 500]
    assert len([c for c in shopify_fake.calls() if not c.injected]) == 1 + pages


def all_orders_from(adapter, cursor):
    seen, pages = [], 0
    while cursor is not None:
        page = adapter.fetch_orders(None, cursor)
        seen += page.items
        pages += 1
        cursor = page.next_cursor
    return seen, pages


def test_a_storm_longer_than_the_attempts_surfaces_as_throttled(shopify_fake, shopify_shop, shopify_token,
                                                                make_adapter):
    from core.http import Throttled

    shopify_fake.fail_next(3, status=429, retry_after=0.01)

    with pytest.raises(Throttled) as throttled:
        make_adapter(shopify_fake, creds(shopify_shop, shopify_token), max_attempts=3).test_connection()

    assert throttled.value.retry_after == 0.01
    assert len(shopify_fake.calls()) == 3


def test_a_read_timeout_is_transient_and_retried(shopify_fake, shopify_shop, shopify_token, make_adapter):
    seed_catalog(shopify_shop)
    shopify_fake.fail_next(1, status=200, delay=0.6)

    report = make_adapter(shopify_fake, creds(shopify_shop, shopify_token), timeout=(1.0, 0.3)).test_connection()

    assert report.shop_name == "Demo Store"


def test_a_polled_order_and_its_webhook_body_are_the_same_normalized_order(shopify_fake, shopify_shop,
                                                                            shopify_token, make_adapter):
    seed_catalog(shopify_shop)
    seeded = seed_orders(shopify_shop, 2, lines=3, quantity=2)
    recorded = order_from_rest_fixture(shopify_shop)

    polled, _ = all_orders(make_adapter(shopify_fake, creds(shopify_shop, shopify_token)))

    by_id = {o.external_id: o for o in polled}
    for fake_order in [*seeded, recorded]:
        hooked = order_from_rest(shopify_shop.order_rest(fake_order.id))
        assert by_id[str(fake_order.id)].fingerprint() == hooked.fingerprint()
    eur = by_id[str(recorded.id)]
    assert (eur.currency, eur.total, eur.shipping) == ("EUR", recorded.total, Decimal("4.99"))


def order_from_rest_fixture(shop):
    from tests.fakes.shopify import order_from_rest as fake_order_from_rest
    from tests.fakes.shopify import realworld

    body = realworld("rest_order_recorded_eur_test_store.json")["order"]
    return fake_order_from_rest(shop, body, created_at=datetime(2026, 10, 20, tzinfo=UTC))


def test_a_poll_and_a_webhook_of_one_order_agree_on_its_shipping_and_do_not_churn(
        shopify_fake, shopify_shop, shopify_token, make_adapter, merchant_a):
    from accounts.tenancy import tenant_scope
    from integrations.channels.shopify.webhooks import RECEIVER
    from orders.models import Order
    from orders.services import order_ingest
    from tests.integrations.helpers import make_integration

    seed_catalog(shopify_shop)
    seeded = seed_orders(shopify_shop, 1)[0]
    recorded = order_from_rest_fixture(shopify_shop)
    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        store = make_integration(merchant)
        polled, _ = all_orders(make_adapter(shopify_fake, creds(shopify_shop, shopify_token)))
        by_id = {o.external_id: o for o in polled}
        assert (by_id[str(recorded.id)].requested_service, by_id[str(seeded.id)].requested_service) == (
            "DHL", "Standard")

        first = {o.external_id: order_ingest(merchant=merchant, integration_id=store.pk, normalized=o).outcome
                 for o in polled}
        hooked = {str(o.id): RECEIVER.handlers["orders/updated"](
            merchant=merchant, owner=store, payload=shopify_shop.order_rest(o.id), headers={})["action"]
            for o in (seeded, recorded)}
        again = {o.external_id: order_ingest(merchant=merchant, integration_id=store.pk, normalized=o).outcome
                 for o in polled}
        stored = {o.external_id: (o.requested_service, o.ship_by_at is not None)
                  for o in Order.objects.filter(merchant=merchant)}

    assert set(first.values()) == {"created"}
    assert hooked == {str(seeded.id): "unchanged", str(recorded.id): "unchanged"}
    assert set(again.values()) == {"unchanged"}
    assert stored == {str(seeded.id): ("Standard", True), str(recorded.id): ("DHL", True)}
