"""A push's results are recorded on the listing rows as they are when the channel answers, not as they were
read before the call: a webhook may have recorded what the store shows meanwhile (`channel_quantity`).

The channel here is an in-memory adapter registered for the test; what is under test is the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from integrations.channels.base import ChannelAdapter, PushResult
from integrations.models import Listing
from integrations.registry import ChannelPackage, channel_packages
from integrations.sync import listings_push
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product


@dataclass
class _SlowAdapter(ChannelAdapter):
    """While our push is on its way, the store's count is seen (as a webhook records it); then L1 is refused
    (no count given back) and L2 taken."""

    has_locations: ClassVar[bool] = False
    meanwhile: ClassVar[dict[str, int]] = {}

    def push_quantities(self, items):
        for external_id, quantity in self.meanwhile.items():
            Listing.objects.filter(external_id=external_id).update(channel_quantity=quantity)
        return [PushResult(i.listing_external_id, ok=i.listing_external_id != "L1",
                           error="" if i.listing_external_id != "L1" else "price missing") for i in items]

    def test_connection(self): raise NotImplementedError
    def fetch_listings(self, cursor=None): raise NotImplementedError
    def fetch_orders(self, updated_since, cursor=None): raise NotImplementedError
    def fetch_order(self, external_id): raise NotImplementedError
    def push_tracking(self, push): raise NotImplementedError
    def subscriptions_ensure(self, url): raise NotImplementedError
    def subscriptions_remove(self, url): raise NotImplementedError


@pytest.fixture
def slow_channel():
    package = ChannelPackage(slug="slowy", label="Slowy", colour="#000000", summary="", adapter=_SlowAdapter)
    with channel_packages.registered("slowy", package):
        yield package


def test_results_keep_the_count_a_webhook_recorded_during_the_push(scope_a, slow_channel):
    # given two matched listings whose store count we last saw as 3, never pushed
    m = scope_a.merchant
    integration = make_integration(m, channel="slowy", credentials={})
    for sku, external_id in (("SLOW-1", "L1"), ("SLOW-2", "L2")):
        product = make_product(m, sku, on_hand=5)
        Listing.objects.create(merchant=m, integration=integration, external_id=external_id, sku=sku,
                               product=product, channel_ref=f"ref-{external_id}", channel_quantity=3)
    _SlowAdapter.meanwhile = {"L1": 9, "L2": 7}  # what the store shows by the time it answers

    # when we push 5 of each and the channel refuses L1 and takes L2
    counts = listings_push(merchant=m, integration=integration)

    # then L1 still shows the store's latest count (not our stale 3), and L2's first push is recorded as
    # changing the store from 7 (what it showed when the push landed) to 5
    rows = {row.external_id: row for row in Listing.objects.filter(merchant=m)}
    assert (counts["pushed"], counts["failed"]) == (1, 1)
    assert (rows["L1"].channel_quantity, rows["L1"].refused_quantity, rows["L1"].error) == (9, 5, "price missing")
    assert (rows["L2"].channel_quantity, rows["L2"].first_push_from, rows["L2"].first_push_to) == (5, 7, 5)
