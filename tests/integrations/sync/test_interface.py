"""The engine speaks the interface's words: a push the channel decides later (pending_ref stored, read
back with push_results), a channel without locations, and the TrackingPush it builds (is_final,
shipped_at, service and the order's channel_data stored at ingest).

The pending-push channel here is an in-memory adapter registered for the test: no channel we ship is
asynchronous yet (Amazon's feeds will be), and what is under test is the engine, not a channel's HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.channels.base import ChannelAdapter, PushResult, QuantityPush
from integrations.models import Listing
from integrations.registry import ChannelPackage, channel_packages
from integrations.selectors import integration_doctor
from integrations.sync import listings_push
from integrations.sync.tracking import tracking_push_build
from inventory.services import stock_adjust
from orders.models import Order, TrackingOutbox
from orders.services import order_fulfill_all, order_ingest
from orders.services.fulfillment import ShipmentLineRequest, shipment_create
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized


@dataclass
class _FeedAdapter(ChannelAdapter):
    """Takes every push into a feed and decides it when the test says."""

    has_locations: ClassVar[bool] = False
    sent: ClassVar[list[list[QuantityPush]]] = []
    decided: ClassVar[dict[str, PushResult]] = {}

    def push_quantities(self, items):
        _FeedAdapter.sent.append(list(items))
        return [PushResult(i.listing_external_id, ok=False, pending_ref=f"feed-{len(self.sent)}:{i.listing_external_id}")
                for i in items]

    def push_results(self, refs):
        return [self.decided.get(ref) or PushResult(ref.split(":", 1)[1], ok=False, pending_ref=ref) for ref in refs]

    def test_connection(self): raise NotImplementedError
    def fetch_listings(self, cursor=None): raise NotImplementedError
    def fetch_orders(self, updated_since, cursor=None): raise NotImplementedError
    def fetch_order(self, external_id): raise NotImplementedError
    def push_tracking(self, push): raise NotImplementedError
    def subscriptions_ensure(self, url): raise NotImplementedError
    def subscriptions_remove(self, url): raise NotImplementedError


@pytest.fixture
def feed_channel():
    _FeedAdapter.sent, _FeedAdapter.decided = [], {}
    package = ChannelPackage(slug="feedy", label="Feedy", colour="#000000", summary="", adapter=_FeedAdapter)
    with channel_packages.registered("feedy", package):
        yield package


def test_a_pending_push_is_stored_read_back_later_and_not_sent_twice_meanwhile(scope_a, feed_channel):
    # given two matched listings on a channel without locations that decides pushes later
    m = scope_a.merchant
    integration = make_integration(m, channel="feedy", credentials={})
    for sku, external_id in (("FEED-1", "L1"), ("FEED-2", "L2")):
        product = make_product(m, sku, on_hand=5)
        Listing.objects.create(merchant=m, integration=integration, external_id=external_id, sku=sku,
                               product=product, channel_ref=f"ref-{external_id}", channel_data={"type": "SHIRT"})

    # when we push, push again before the channel decided, then after it decided one ok and one refused
    first = listings_push(merchant=m, integration=integration)
    waiting = listings_push(merchant=m, integration=integration)
    stored = dict(Listing.objects.filter(merchant=m).values_list("external_id", "push_pending_ref"))
    _FeedAdapter.decided = {"feed-1:L1": PushResult("L1", ok=True),
                            "feed-1:L2": PushResult("L2", ok=False, error="SKU not in the catalog")}
    decided = listings_push(merchant=m, integration=integration)

    # then the refs were kept, nothing was sent while undecided, and the decisions were recorded
    assert first == {"pushed": 0, "failed": 0, "unchanged": 0, "pending": 2, "retry": 2}
    assert waiting == {"pushed": 0, "failed": 0, "unchanged": 0, "retry": 2}
    assert stored == {"L1": "feed-1:L1", "L2": "feed-1:L2"}
    first_feed = _FeedAdapter.sent[0]
    assert [(i.channel_ref, i.location_external_id, i.quantity, i.channel_data) for i in first_feed] == [
        ("ref-L1", "", 5, {"type": "SHIRT"}), ("ref-L2", "", 5, {"type": "SHIRT"})]
    rows = {row.external_id: row for row in Listing.objects.filter(merchant=m)}
    assert (rows["L1"].last_pushed_quantity, rows["L1"].push_pending_ref, rows["L1"].error) == (5, "", "")
    assert rows["L2"].error == "SKU not in the catalog" and rows["L2"].last_pushed_quantity is None
    # the refused one is not sent again with the quantity the channel refused (nor the accepted one) ...
    assert [[i.listing_external_id for i in feed] for feed in _FeedAdapter.sent] == [["L1", "L2"]]
    assert "pending" not in decided and rows["L2"].refused_quantity == 5
    # ... until its quantity changes
    stock_adjust(merchant=m, product_id=rows["L2"].product_id, delta=1, reason="received")
    listings_push(merchant=m, integration=integration)
    assert [[(i.listing_external_id, i.quantity) for i in feed] for feed in _FeedAdapter.sent][1] == [("L2", 6)]


def test_the_tracking_push_carries_when_how_whether_final_and_the_orders_channel_data(scope_a):
    # given an order ingested with the channel's own data, then shipped whole
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=5)
    integration = make_integration(m)
    order_ingest(merchant=m, integration_id=integration.pk,
                 normalized=normalized("5001", channel_data={"marketplace": "EU", "purchase_id": "P-9"}))
    order = Order.objects.get(merchant=m, external_id="5001")
    shipment = order_fulfill_all(merchant=m, order=order, carrier="DHL", tracking_number="JD0001")
    row = TrackingOutbox.objects.get(merchant=m, shipment=shipment)

    # when the engine builds the adapter's TrackingPush
    push = tracking_push_build(merchant=m, row=row)

    # then it says what the channel may need, in the interface's words
    shipment.refresh_from_db()
    assert order.channel_data == {"marketplace": "EU", "purchase_id": "P-9"}
    assert (push.is_final, push.shipped_at, push.service) == (True, shipment.shipped_at, shipment.service)
    assert push.channel_data == {"marketplace": "EU", "purchase_id": "P-9"}
    assert push.lines == [("L1", 2)]


def test_channel_data_left_empty_keeps_an_orders_fingerprint():
    assert normalized("1").fingerprint() == normalized("1", channel_data={}).fingerprint()
    assert normalized("1").fingerprint() != normalized("1", channel_data={"k": "v"}).fingerprint()


def test_only_the_shipment_that_completes_the_order_is_final(scope_a):
    # given an order of 2 shipped as 1 + 1, the second by the UPS ground service
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=5)
    integration = make_integration(m)
    order_ingest(merchant=m, integration_id=integration.pk, normalized=normalized("5002"))
    order = Order.objects.get(merchant=m, external_id="5002")
    line = order.lines.get()
    first = shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(line.pk, 1)], carrier="UPS",
                            tracking_number="1ZA")
    second = shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(line.pk, 1)], carrier="UPS",
                             service="Ground", tracking_number="1ZB")

    # when the engine builds both pushes
    pushes = [tracking_push_build(merchant=m, row=TrackingOutbox.objects.get(merchant=m, shipment=s))
              for s in (first, second)]

    # then only the last one is final, and each carries its own service
    assert [(p.is_final, p.service, p.lines) for p in pushes] == [(False, "", [("L1", 1)]), (True, "Ground", [("L1", 1)])]


def test_a_channel_without_locations_needs_no_location_mapped(scope_a, feed_channel):
    m = scope_a.merchant
    feedy = make_integration(m, channel="feedy", credentials={})
    shop = make_integration(m, name="Shop")

    assert "location_not_mapped" not in [f.code for f in integration_doctor(merchant=m, integration=feedy)]
    assert "location_not_mapped" in [f.code for f in integration_doctor(merchant=m, integration=shop)]


@dataclass
class _SplitAdapter(_FeedAdapter):
    """Refuses the first listing of a push and takes the rest, at once."""

    def push_quantities(self, items):
        return [PushResult(i.listing_external_id, ok=n > 0, error="" if n else "refused")
                for n, i in enumerate(items)]


def test_a_pushs_results_lock_their_listings_once_in_id_order_before_writing(scope_a):
    # given two listings whose push the channel answers one refused (the lower id) and one taken
    m = scope_a.merchant
    package = ChannelPackage(slug="splity", label="Splity", colour="#000000", summary="", adapter=_SplitAdapter)
    with channel_packages.registered("splity", package):
        integration = make_integration(m, channel="splity", credentials={})
        for sku, external_id in (("SPLIT-1", "L1"), ("SPLIT-2", "L2")):
            Listing.objects.create(merchant=m, integration=integration, external_id=external_id, sku=sku,
                                   product=make_product(m, sku, on_hand=5))
        ids = sorted(Listing.objects.filter(merchant=m).values_list("pk", flat=True))

        # when the push records the results
        with CaptureQueriesContext(connection) as queries:
            outcome = listings_push(merchant=m, integration=integration)

    # then the rows are locked in one id-ordered SELECT ... FOR UPDATE before the first write to them (two
    # pushes of one store writing "taken" then "refused" rows would otherwise lock them in opposite orders)
    assert (outcome["pushed"], outcome["failed"]) == (1, 1)
    listing_sql = [q["sql"] for q in queries.captured_queries if '"integrations_listing"' in q["sql"]]
    first_write = next(i for i, sql in enumerate(listing_sql) if sql.startswith("UPDATE"))
    lock = listing_sql[first_write - 1]
    assert lock.startswith("SELECT") and 'ORDER BY "integrations_listing"."id" ASC FOR UPDATE' in lock
    assert all(str(pk) in lock for pk in ids)


def test_the_package_names_the_request_budget_one_sellers_stores_share_one(scope_a):
    # given a channel whose limits belong to the seller (its stores' account_ref "<seller>:<marketplace>"),
    # two of one seller's stores, one of another's, and a store of a channel that names no budget
    from integrations.sync.common import ChannelSession

    m = scope_a.merchant
    shared = ChannelPackage(slug="selly", label="Selly", colour="#000000", summary="", adapter=_FeedAdapter,
                            account_ref=lambda credentials: credentials["seller"],
                            budget_account=lambda account_ref: account_ref.split(":", 1)[0])
    with channel_packages.registered("selly", shared):
        us, de, other = (make_integration(m, channel="selly", credentials={"seller": ref}, name=ref)
                         for ref in ("S1:US", "S1:DE", "S2:US"))
        shop = make_integration(m, name="Shop")

        # when each store's adapter is made for a run
        keys = [ChannelSession(merchant=m, integration=store).adapter.budget_key for store in (us, de, other, shop)]

    # then the seller's stores draw on one budget, and a store of a channel that names none on its own
    assert keys == ["selly:S1", "selly:S1", "selly:S2", f"integration:{shop.pk}"]
