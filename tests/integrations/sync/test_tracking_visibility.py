"""Issue 14 §3.4: tracking you can see. Each shipment says whether its tracking reached the channel (sent at,
refused in the channel's words, retry); orders of no store (demo orders) write no tracking row; a refused
row never holds up a real one; the push leaves when the shipment commits, not on beat's next tick."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.tenancy import tenant_scope
from integrations.tasks import tracking_push_task
from orders.models import Order, TrackingOutbox
from orders.services import order_fulfill_all, order_ingest
from tests.fakes.shopify import seed_orders
from tests.integrations.sync.conftest import connect_store, run_connect
from tests.orders.helpers import normalized


def _fulfillments(fake):
    return fake.calls(root_field="fulfillmentCreate")


def _connected_with_orders(scope, fake, count: int = 2):
    merchant = scope.merchant
    store = connect_store(fake, merchant, stock=10)
    seed_orders(store.shop, count, lines=1, start=timezone.now() - timedelta(hours=1))
    run_connect(merchant, store.integration)
    return store, list(Order.objects.filter(merchant=merchant, integration=store.integration).order_by("id"))


def test_a_shipment_tracking_leaves_on_commit_and_the_api_shows_it_sent(
        merchant_a, shopify_fake, channel_settings, django_capture_on_commit_callbacks):
    with tenant_scope(merchant_a.merchant):
        store, (order, _other) = _connected_with_orders(merchant_a, shopify_fake)
        # when the order ships (no tracking task is called by the test: only the commit's hook)
        with django_capture_on_commit_callbacks(execute=True):
            shipment = order_fulfill_all(merchant=merchant_a.merchant, order=order, carrier="UPS",
                                         tracking_number="1Z999AA10123456784")
        row = TrackingOutbox.objects.get(shipment=shipment)

    # then the fake has the fulfillment and the shipment says so
    assert len(_fulfillments(shopify_fake)) == 1
    assert row.processed_at is not None and row.last_error == ""
    body = merchant_a.api.get(f"/api/v1/shipments/{shipment.pk}/").json()
    assert body["tracking_push"]["status"] == "sent"
    assert body["tracking_push"]["error"] == "" and body["tracking_push"]["sent_at"] is not None
    page = merchant_a.web.get(f"/orders/{order.pk}/").content.decode()
    assert "Tracking sent" in page and "Retry sending tracking" not in page


def test_a_refused_row_shows_the_channels_words_never_delays_a_real_one_and_can_be_retried(
        merchant_a, shopify_fake, channel_settings, django_capture_on_commit_callbacks):
    m = merchant_a.merchant
    with tenant_scope(m):
        store, (real, _other) = _connected_with_orders(merchant_a, shopify_fake)
        # an order Shopify does not know, shipped first (its row is older), then a real one
        ghost = order_ingest(merchant=m, integration_id=store.integration.pk,
                             normalized=normalized("999999", lines=(("L1", "IPOD2008PINK", 1),))).order
        refused = order_fulfill_all(merchant=m, order=ghost, carrier="UPS", tracking_number="1ZGHOST")
        shipped = order_fulfill_all(merchant=m, order=real, carrier="UPS", tracking_number="1ZREAL")

    # when one tracking push runs
    tracking_push_task.apply_async(kwargs={"merchant_id": m.pk})

    # then the real tracking reached the channel and the refused one says why, in Shopify's words
    assert len(_fulfillments(shopify_fake)) == 1
    sent = merchant_a.api.get(f"/api/v1/shipments/{shipped.pk}/").json()["tracking_push"]
    failed = merchant_a.api.get(f"/api/v1/shipments/{refused.pk}/").json()["tracking_push"]
    assert sent["status"] == "sent"
    assert (failed["status"], failed["sent_at"]) == ("failed", None)
    assert "Shopify has no order 999999" in failed["error"]
    page = merchant_a.web.get(f"/orders/{ghost.pk}/").content.decode()
    assert "Tracking refused" in page and "Shopify has no order 999999" in page and "Retry sending tracking" in page

    # and "retry" sends it again at once (refused again here: the attempt is counted anew)
    looks = len(shopify_fake.calls(root_field="order"))
    with django_capture_on_commit_callbacks(execute=True):
        retried = merchant_a.api.post(f"/api/v1/shipments/{refused.pk}/tracking-retry/")
    assert retried.status_code == 202
    assert len(shopify_fake.calls(root_field="order")) == looks + 1
    with tenant_scope(m):
        row = TrackingOutbox.objects.get(shipment=refused)
    assert (row.attempts, row.processed_at is not None, "999999" in row.last_error) == (1, True, True)
    again = merchant_a.api.post(f"/api/v1/shipments/{shipped.pk}/tracking-retry/")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "tracking_sent")


def test_orders_of_no_store_write_no_tracking_row(merchant_a, django_capture_on_commit_callbacks):
    from tests.inventory.helpers import make_product

    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        demo = order_ingest(merchant=m, integration_id=None, normalized=normalized("demo-shopify-1")).order
        with django_capture_on_commit_callbacks(execute=True):
            shipment = order_fulfill_all(merchant=m, order=demo, carrier="UPS", tracking_number="1ZDEMO")
        assert not TrackingOutbox.objects.exists()

    body = merchant_a.api.get(f"/api/v1/shipments/{shipment.pk}/").json()
    assert body["tracking_push"]["status"] == "none"
    retry = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/tracking-retry/")
    assert (retry.status_code, retry.json()["error"]["code"]) == (409, "no_tracking_push")


def test_a_listed_carrier_reaches_shopify_by_its_tracking_company_name(
        merchant_a, shopify_fake, channel_settings, django_capture_on_commit_callbacks):
    with tenant_scope(merchant_a.merchant):
        _store, (order, _other) = _connected_with_orders(merchant_a, shopify_fake)

    with django_capture_on_commit_callbacks(execute=True):
        response = merchant_a.api.post(f"/api/v1/orders/{order.pk}/shipments/",
                                       {"carrier": "dhl_express", "tracking_number": "JD014600003828"}, format="json")

    assert response.status_code == 201, response.content
    (create,) = _fulfillments(shopify_fake)
    assert create.variables["f"]["trackingInfo"]["company"] == "DHL Express"
    assert create.variables["f"]["trackingInfo"]["number"] == "JD014600003828"
