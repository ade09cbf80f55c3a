"""The tracking outbox's consumer side: claim due rows, mark them pushed or schedule them again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tenancy import tenant_scope
from integrations.models import Integration
from orders import services
from orders.models import OrderLine, TrackingOutbox
from orders.selectors.tracking import tracking_outbox_due_merchant_ids
from orders.services import ShipmentLineRequest
from orders.services.tracking import tracking_outbox_claim, tracking_outbox_done, tracking_outbox_retry
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


def _ship(m, external_id: str, tracking: str) -> TrackingOutbox:
    """A store's order shipped (orders of no store, demo orders, write no tracking row)."""
    store = Integration.objects.filter(merchant=m).first() or make_integration(m)
    order = services.order_ingest(merchant=m, integration_id=store.pk, normalized=normalized(external_id)).order
    line = OrderLine.objects.get(merchant=m, order=order)
    shipment = services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(line.pk, 2)],
                                        carrier="UPS", tracking_number=tracking)
    return TrackingOutbox.objects.get(merchant=m, shipment=shipment)


def test_claim_push_fail_retry_then_done(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=10)
        first, second = _ship(m, "1001", "1Z1"), _ship(m, "1002", "1Z2")

        # a consumer claims both; a second claimer meanwhile gets nothing
        claimed = tracking_outbox_claim(merchant=m)
        assert [(r.pk, r.attempts, r.shipment.tracking_number) for r in claimed] == [
            (first.pk, 1, "1Z1"), (second.pk, 1, "1Z2")]
        assert tracking_outbox_claim(merchant=m) == []

        # the first push worked; the second was throttled with Retry-After: 120
        tracking_outbox_done(merchant=m, row=claimed[0])
        before = timezone.now()
        when = tracking_outbox_retry(merchant=m, row=claimed[1], error="429 throttled", retry_after=120)
        assert when >= before + timedelta(seconds=120)
        row = TrackingOutbox.objects.get(pk=second.pk)
        assert (row.next_attempt_at, row.last_error, row.attempts, row.processed_at) == (when, "429 throttled", 1, None)
        assert tracking_outbox_claim(merchant=m) == []  # not due before the Retry-After

        # when its time has come it is claimed again, counting a second attempt
        TrackingOutbox.objects.filter(pk=second.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert tracking_outbox_due_merchant_ids() == [m.pk]
    with tenant_scope(m):
        again = tracking_outbox_claim(merchant=m)
        assert [(r.pk, r.attempts) for r in again] == [(second.pk, 2)]
        tracking_outbox_done(merchant=m, row=again[0])

        # then both are processed and nothing is due any more
        done = TrackingOutbox.objects.filter(merchant=m).order_by("pk")
        assert [(r.processed_at is not None, r.last_error, r.next_attempt_at) for r in done] == [
            (True, "", None), (True, "", None)]
        assert tracking_outbox_claim(merchant=m) == []
    assert tracking_outbox_due_merchant_ids() == []


def test_a_claim_takes_only_its_own_merchants_rows(merchant_a, merchant_b):
    a, b = merchant_a.merchant, merchant_b.merchant
    with tenant_scope(a):
        make_product(a, "A-1", on_hand=10)
        _ship(a, "1001", "1ZA")
    with tenant_scope(b):
        make_product(b, "A-1", on_hand=10)
        theirs = _ship(b, "1001", "1ZB")

    with tenant_scope(b):
        assert [r.pk for r in tracking_outbox_claim(merchant=b)] == [theirs.pk]
    assert tracking_outbox_due_merchant_ids() == [a.pk]
