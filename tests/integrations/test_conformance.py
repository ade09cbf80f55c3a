"""The adapter conformance suite: every registered channel package that has an adapter, run against its
fake (the package/fake pairs in FAKES below). What the sync engine relies on, whatever the channel:

- pages terminate, and every item comes once;
- fetch_order gives what the page gave, and None for an order the channel does not have;
- push results come back one per item, in item order (a refused item fails alone);
- the same tracking pushed twice has one effect;
- our pushed value echoed back by the channel changes nothing (no loop);
- subscriptions_ensure twice subscribes once;
- refused credentials raise AuthFailed.

Adding a channel means adding its harness here (a test fails while a package with an adapter has none).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from accounts.tenancy import tenant_scope
from core.http import AuthFailed
from integrations.channels import adapter_for
from integrations.channels.base import ChannelAdapter, QuantityPush, TrackingPush
from integrations.models import Listing
from integrations.registry import channel_packages
from integrations.sync import listings_push, listings_upsert
from integrations.sync.stock import quantities_seen
from inventory.models import AvailabilityMark
from tests.fakes.amazon import AmazonFake
from tests.fakes.shopify import ShopifyFake, seed_catalog, seed_orders
from tests.fakes.woocommerce import WooCommerceFake
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db
WEBHOOK_URL = "https://switchboard.example.test/webhooks/conformance/token/"
MAX_PAGES = 50  # a cursor that never ends fails the test instead of hanging it


class Harness:
    """What the suite needs from one channel's fake; one subclass per package."""

    slug: str

    def credentials(self) -> dict: ...
    def refused_credentials(self) -> dict: ...
    def seed_listings(self, count: int) -> None: ...
    def seed_orders(self, count: int) -> None: ...
    def location(self) -> str: ...  # where a push goes ("" for a channel without locations)
    def an_order(self) -> tuple[str, list[tuple[str, int]]]: ...  # (external id, [(line id, quantity)])
    def unknown_order_id(self) -> str: ...
    def fulfillments(self, order_external_id: str) -> int: ...
    def subscription_creates(self) -> int: ...
    def channel_quantity(self, listing_external_id: str) -> int: ...

    def adapter(self, credentials: dict | None = None) -> ChannelAdapter:
        return adapter_for(self.slug, credentials or self.credentials(), budget_key=f"conformance:{uuid.uuid4()}",
                           on_credentials_changed=lambda changed: None)


@dataclass
class ShopifyHarness(Harness):
    fake: ShopifyFake
    slug: str = "shopify"

    def __post_init__(self) -> None:
        self.shop = self.fake.add_shop("conformance.myshopify.com", name="Conformance")
        self.token = self.fake.issue_token(self.shop.domain)

    def credentials(self) -> dict:
        return {"shop_domain": self.shop.domain, "access_token": self.token}

    def refused_credentials(self) -> dict:
        return {"shop_domain": self.shop.domain, "access_token": "shpat_refused"}

    def seed_listings(self, count: int) -> None:
        seed_catalog(self.shop, copies=-(-count // 4))  # the recorded product has four variants

    def seed_orders(self, count: int) -> None:
        if not self.shop.variants:
            seed_catalog(self.shop)
        seed_orders(self.shop, count)

    def location(self) -> str:
        return str(self.shop.primary_location().id)

    def an_order(self) -> tuple[str, list[tuple[str, int]]]:
        order = min(self.shop.orders.values(), key=lambda o: o.id)
        return str(order.id), [(str(li.id), li.quantity) for li in order.line_items]

    def unknown_order_id(self) -> str:
        return "999999999"

    def fulfillments(self, order_external_id: str) -> int:
        return len(self.shop.fulfillments_of(int(order_external_id)))

    def subscription_creates(self) -> int:
        return len(self.fake.calls(root_field="webhookSubscriptionCreate"))

    def channel_quantity(self, listing_external_id: str) -> int:
        variant = self.shop.variants[int(listing_external_id)]
        return self.shop.quantity(variant.inventory_item_id, self.shop.primary_location().id)


def _shopify(request, settings) -> Harness:
    fake = request.getfixturevalue("shopify_fake")
    settings.SHOPIFY_API_BASE_URL = fake.base_url_template
    return ShopifyHarness(fake=fake)


@dataclass
class AmazonHarness(Harness):
    fake: AmazonFake
    slug: str = "amazon"

    def __post_init__(self) -> None:
        self.app = self.fake.add_app()
        self.seller = self.fake.add_seller(self.app)

    def credentials(self) -> dict:
        return {"refresh_token": self.seller.refresh_token, "lwa_client_id": self.app.client_id,
                "lwa_client_secret": self.app.client_secret, "seller_id": self.seller.seller_id,
                "marketplace_ids": list(self.seller.marketplace_ids), "region": "na"}

    def refused_credentials(self) -> dict:
        return {**self.credentials(), "refresh_token": "Atzr|refused"}

    def seed_listings(self, count: int) -> None:
        start = len(self.fake.listings)
        for n in range(start, start + count):
            self.fake.add_listing(self.seller, f"CONF-{n:05d}", quantity=3)

    def seed_orders(self, count: int) -> None:
        for n in range(count):
            self.fake.add_order(self.seller, [(f"CONF-{n % 7:05d}", 1 + n % 3, "9.99"), ("CONF-LID", 1, "1.50")])

    def location(self) -> str:
        return ""

    def an_order(self) -> tuple[str, list[tuple[str, int]]]:
        order = min(self.fake.orders.values(), key=lambda o: o.order_id)
        return order.order_id, [(i.order_item_id, i.quantity) for i in order.items]

    def unknown_order_id(self) -> str:
        return "999-0000000-0000000"

    def fulfillments(self, order_external_id: str) -> int:
        return len(self.fake.orders[order_external_id].packages)

    def subscription_creates(self) -> int:
        return 0  # orders are polled; nothing is subscribed on Amazon yet

    def channel_quantity(self, listing_external_id: str) -> int:
        return self.fake.listings[(self.seller.seller_id, listing_external_id)].quantity


@dataclass
class WooCommerceHarness(Harness):
    """A plain-HTTP store (OAuth 1.0a) in a non-UTC zone; listings are simple products and variations."""

    fake: WooCommerceFake
    slug: str = "woocommerce"

    def __post_init__(self) -> None:
        self.key = self.fake.add_key()

    def credentials(self) -> dict:
        return {"store_url": self.fake.base_url, "consumer_key": self.key.consumer_key,
                "consumer_secret": self.key.consumer_secret}

    def refused_credentials(self) -> dict:
        return {**self.credentials(), "consumer_secret": "cs_" + "0" * 40}

    def seed_listings(self, count: int) -> None:
        # a fifth of them variations, five to a variable parent (never listed itself); the rest simple
        variations = min(count // 2, 5 * max(1, count // 25))
        with self.fake.lock:
            for parent in range(0, variations, 5):
                self.fake.store.add_variable_product(f"PARENT-{parent}", [
                    {"sku": f"VAR-{parent + n:04}", "stock_quantity": 3} for n in range(min(5, variations - parent))])
            for n in range(count - variations):
                self.fake.store.add_product(f"SIMPLE-{n:04}", stock_quantity=3)

    def seed_orders(self, count: int) -> None:
        with self.fake.lock:
            mug = self.fake.store.add_product(f"MUG-{uuid.uuid4().hex[:6]}", stock_quantity=100)
            for n in range(count):
                self.fake.store.add_order([(mug, 1 + n % 3)])

    def location(self) -> str:
        return ""

    def an_order(self) -> tuple[str, list[tuple[str, int]]]:
        order = self.fake.store.orders[min(self.fake.store.orders)]
        return str(order["id"]), [(str(li["id"]), li["quantity"]) for li in order["line_items"]]

    def unknown_order_id(self) -> str:
        return "999999999"

    def fulfillments(self, order_external_id: str) -> int:
        return sum("Tracking number:" in note["note"] for note in self.fake.store.notes.get(int(order_external_id), []))

    def subscription_creates(self) -> int:
        return len(self.fake.calls(method="POST", path="/webhooks"))

    def channel_quantity(self, listing_external_id: str) -> int:
        return int(self.fake.store.products[int(listing_external_id)]["stock_quantity"])



def _amazon(request, settings) -> Harness:
    fake = request.getfixturevalue("amazon_fake")
    settings.AMAZON_SPAPI_ENDPOINT = fake.base_url
    settings.AMAZON_LWA_TOKEN_URL = fake.lwa_url
    settings.AMAZON_SPAPI_RATE_SCALE = fake.time_scale
    return AmazonHarness(fake=fake)


def _woocommerce(request, settings) -> Harness:
    fake = WooCommerceFake(timezone="America/New_York").start()
    request.addfinalizer(fake.stop)
    return WooCommerceHarness(fake=fake)


# The test-side table: each registered package with an adapter, and how to stand up its fake.
FAKES = {"shopify": _shopify, "amazon": _amazon, "woocommerce": _woocommerce}
WITH_ADAPTER = sorted(slug for slug in channel_packages if channel_packages[slug].adapter is not None)


@pytest.fixture(params=WITH_ADAPTER)
def harness(request, settings) -> Harness:
    settings.CHANNEL_HTTP_BACKOFF_BASE = 0.01
    settings.CHANNEL_HTTP_BACKOFF_CAP = 0.05
    return FAKES[request.param](request, settings)


def test_every_package_with_an_adapter_has_a_fake_in_the_suite():
    assert WITH_ADAPTER and set(WITH_ADAPTER) <= set(FAKES)


def _all_pages(fetch) -> list:
    items, cursor = [], None
    for _ in range(MAX_PAGES):
        page = fetch(cursor)
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError(f"no last page after {MAX_PAGES} pages")


def test_listing_pages_terminate_and_give_every_listing_once(harness):
    harness.seed_listings(300)  # more than one page on every channel we know

    listings = _all_pages(harness.adapter().fetch_listings)

    ids = [item.external_id for item in listings]
    assert len(ids) == 300 and len(set(ids)) == 300


def test_order_pages_terminate_and_fetch_order_gives_what_the_page_gave(harness):
    harness.seed_orders(30)
    adapter = harness.adapter()

    orders = _all_pages(lambda cursor: adapter.fetch_orders(None, cursor))
    external_id, _ = harness.an_order()
    one = adapter.fetch_order(external_id)

    assert len({o.external_id for o in orders}) == len(orders) == 30
    assert one == next(o for o in orders if o.external_id == external_id)
    assert adapter.fetch_order(harness.unknown_order_id()) is None


def test_push_results_come_back_one_per_item_in_item_order(harness):
    harness.seed_listings(8)
    listings = _all_pages(harness.adapter().fetch_listings)
    chosen = [listings[5], listings[1], listings[7], listings[0]]
    items = [QuantityPush(listing_external_id=lst.external_id, channel_ref=lst.channel_ref,
                          location_external_id=harness.location(), quantity=10 + n, previous_quantity=None,
                          channel_data=lst.channel_data) for n, lst in enumerate(chosen)]
    items.insert(2, QuantityPush(listing_external_id="no-such-listing", channel_ref="", location_external_id="",
                                 quantity=1, previous_quantity=None))

    results = harness.adapter().push_quantities(items)

    assert [r.listing_external_id for r in results] == [i.listing_external_id for i in items]
    assert [r.ok or bool(r.pending_ref) for r in results] == [True, True, False, True, True]
    assert results[2].error != ""
    assert [harness.channel_quantity(lst.external_id) for lst in chosen] == [10, 11, 12, 13]


def test_the_same_tracking_pushed_twice_has_one_effect(harness):
    harness.seed_orders(1)
    order_id, lines = harness.an_order()
    push = TrackingPush(order_external_id=order_id, lines=lines, carrier="UPS", tracking_number="1ZCONFORM",
                        is_final=True)
    adapter = harness.adapter()

    first = adapter.push_tracking(push)
    second = adapter.push_tracking(push)

    assert first.fulfillment_id == second.fulfillment_id
    assert harness.fulfillments(order_id) == 1


def test_our_pushed_value_echoed_back_changes_nothing(harness, merchant_a):
    # given a store whose listings are imported and matched, and our quantity pushed
    harness.seed_listings(4)
    m = merchant_a.merchant
    with tenant_scope(m):
        integration = make_integration(m, channel=harness.slug, credentials=harness.credentials())
        integration.settings = {**integration.settings, "location_external_id": harness.location()}
        integration.save(update_fields=["settings"])
        listings = _all_pages(harness.adapter().fetch_listings)
        for item in listings:
            make_product(m, item.sku, on_hand=7)
        listings_upsert(merchant=m, integration=integration, items=listings)
        AvailabilityMark.objects.filter(merchant=m).delete()
        pushed = listings_push(merchant=m, integration=integration)

        # when the channel tells us back what it now shows
        echoed = _all_pages(harness.adapter().fetch_listings)
        outcome = quantities_seen(merchant=m, integration=integration,
                                  quantities={i.external_id: i.quantity for i in echoed if i.quantity is not None})
        again = listings_push(merchant=m, integration=integration)
        marks = AvailabilityMark.objects.filter(merchant=m).count()
        drift = integration.checkpoints.get("drift_count")
        stored = sorted(Listing.objects.filter(merchant=m).values_list("last_pushed_quantity", flat=True))

    # then every echo is recognised, nothing is marked or pushed again, and no drift is counted
    assert pushed["pushed"] == 4
    assert set(outcome.values()) == {"echo"}
    assert (marks, drift, again["pushed"]) == (0, None, 0)
    assert stored == [7, 7, 7, 7]


def test_subscriptions_ensure_twice_subscribes_once(harness):
    adapter = harness.adapter()

    first = adapter.subscriptions_ensure(WEBHOOK_URL)
    creates = harness.subscription_creates()
    second = adapter.subscriptions_ensure(WEBHOOK_URL)

    assert first.ok and second.ok and first.missing == second.missing == []
    assert sorted(first.topics) == sorted(second.topics) == sorted(adapter.webhook_topics)
    assert harness.subscription_creates() == creates


@pytest.mark.parametrize("call", ["test_connection", "fetch_listings", "fetch_orders"])
def test_refused_credentials_raise_auth_failed(harness, call):
    adapter = harness.adapter(harness.refused_credentials())
    operation = {"test_connection": lambda: adapter.test_connection(),
                 "fetch_listings": lambda: adapter.fetch_listings(None),
                 "fetch_orders": lambda: adapter.fetch_orders(None, None)}[call]

    with pytest.raises(AuthFailed):
        operation()
