"""What goes wrong on the way: throttling and 5xx mid-backfill, expiring and revoked tokens, a refused
item in a big push, and another merchant's work."""

from __future__ import annotations

import time
from datetime import timedelta

from django.core import mail
from django.db.models import Sum
from django.utils import timezone

from accounts.tenancy import tenant_scope
from integrations.models import Integration, Listing
from integrations.sync import integration_poll, listings_push
from integrations.tasks import integration_poll_task, stock_push_task
from inventory.models import AvailabilityMark, StockLevel
from jobs.models import WorkerJob
from orders.models import Order
from tests.fakes.shopify import seed_catalog, seed_orders
from tests.integrations.shopify.test_oauth_and_tokens import connected
from tests.integrations.sync.conftest import connect_store, run_connect


def _orders_calls(fake, status=None):
    return fake.calls(root_field="orders", status=status)


def _page_size(calls) -> int:
    return calls[0].variables["first"]


def test_a_429_storm_and_500s_mid_backfill_cost_nothing_and_double_nothing(scope_a, shopify_fake, channel_settings):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=500)
    seed_orders(store.shop, 120, lines=2, start=timezone.now() - timedelta(days=2), step=timedelta(minutes=1))
    shopify_fake.fail_next(4, status=429, retry_after=0.01)  # the first call is throttled four times
    original, seen = shopify_fake.handle, {"orders": 0}

    def handle(method, path, headers, body):
        if b"SwitchboardOrders" in body:
            seen["orders"] += 1
            if seen["orders"] == 3:  # Shopify falls over on the third page, longer than the client retries
                shopify_fake.fail_next(5, status=500)
        return original(method, path, headers, body)

    shopify_fake.handle = handle

    job = run_connect(merchant, store.integration)

    assert (job.status, job.attempts, job.result.get("orders"), job.last_error) == (WorkerJob.Status.SUCCEEDED, 2, 120, "")
    assert len(shopify_fake.calls(status=429)) == 4
    assert len(shopify_fake.calls(status=500)) == 5
    pages = _orders_calls(shopify_fake, status=200)
    # every page fetched successfully exactly once: the retry resumed at the failed page's cursor
    assert len({c.variables.get("after") for c in pages}) == len(pages) == -(-120 // _page_size(pages))
    assert Order.objects.filter(merchant=merchant).count() == 120
    assert StockLevel.objects.filter(merchant=merchant).aggregate(r=Sum("reserved"))["r"] == 240
    assert "orders_cursor" not in Integration.objects.get(pk=store.integration.pk).checkpoints


def test_a_crashed_backfill_resumes_from_its_checkpoint(scope_a, shopify_fake, channel_settings):
    channel_settings.CHANNEL_HTTP_MAX_ATTEMPTS = 1
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=500)
    seed_orders(store.shop, 60, lines=1, start=timezone.now() - timedelta(days=2), step=timedelta(minutes=1))
    run_connect(merchant, store.integration)
    Integration.objects.filter(pk=store.integration.pk).update(checkpoints={})  # as if never polled
    original, seen = shopify_fake.handle, {"orders": 0}

    def handle(method, path, headers, body):
        if b"SwitchboardOrders" in body:
            seen["orders"] += 1
            if seen["orders"] == 2:
                shopify_fake.fail_next(1, status=503)
        return original(method, path, headers, body)

    shopify_fake.handle = handle
    from core.http import Transient

    try:
        integration_poll(merchant=merchant, integration_id=store.integration.pk)
        raise AssertionError("the poll should have raised Transient")
    except Transient:
        pass
    saved = Integration.objects.get(pk=store.integration.pk)
    assert saved.checkpoints["orders_cursor"] and saved.last_error.startswith("orders:")
    assert len(shopify_fake.calls(status=503)) == 1
    done_before = len(_orders_calls(shopify_fake, status=200))

    assert integration_poll(merchant=merchant, integration_id=store.integration.pk).startswith("ok")

    resumed = _orders_calls(shopify_fake, status=200)[done_before]
    assert resumed.variables["after"] == saved.checkpoints["orders_cursor"]  # the failed page, not the first
    assert Order.objects.filter(merchant=merchant).count() == 60
    assert Integration.objects.get(pk=store.integration.pk).last_error == ""


def test_an_expired_access_token_is_refreshed_once_for_a_whole_run(scope_a, shopify_fake, settings,
                                                                   channel_settings):
    merchant = scope_a.merchant
    shop, _, credentials = connected(shopify_fake, shopify_fake.clock, settings)
    seed_catalog(shop)
    seed_orders(shop, 30, start=timezone.now() - timedelta(days=1))
    credentials["access_token_expires_at"] = time.time() + 5  # inside the refresh margin
    integration = Integration.objects.create(merchant=merchant, channel="shopify", name="OAuth shop",
                                             credentials=credentials)

    job = run_connect(merchant, integration)
    integration_poll(merchant=merchant, integration_id=integration.pk)

    assert job.status == WorkerJob.Status.SUCCEEDED
    grants = [c.grant_type for c in shopify_fake.calls(kind="oauth_token")]
    assert grants == ["authorization_code", "refresh_token"]
    stored = Integration.objects.get(pk=integration.pk).credentials
    assert stored["refresh_token"] != credentials["refresh_token"]  # the rotated one was kept
    assert stored["access_token"] != credentials["access_token"]
    assert all(c.status == 200 for c in shopify_fake.calls())
    assert Order.objects.filter(merchant=merchant).count() == 30


def test_a_revoked_token_needs_reconnecting_stops_syncing_and_emails_the_owner_once(
        scope_a, shopify_fake, channel_settings, django_capture_on_commit_callbacks):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=5)
    run_connect(merchant, store.integration)
    shopify_fake.revoke(store.token)
    before = len(shopify_fake.calls())

    with django_capture_on_commit_callbacks(execute=True):
        first = integration_poll_task.apply_async(kwargs={"merchant_id": merchant.pk,
                                                          "integration_id": store.integration.pk}).get()
        again = integration_poll_task.apply_async(kwargs={"merchant_id": merchant.pk,
                                                          "integration_id": store.integration.pk}).get()
        listings_push(merchant=merchant, integration=store.integration)

    assert (first, again) == ("needs_reconnect", "inactive")
    integration = Integration.objects.get(pk=store.integration.pk)
    assert integration.status == Integration.Status.NEEDS_RECONNECT
    assert integration.last_error.startswith("orders:") and "401" in integration.last_error
    assert len(shopify_fake.calls()) == before + 1  # one refused call; the same credentials are not retried
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [scope_a.user.email]
    assert "needs reconnecting" in mail.outbox[0].subject + mail.outbox[0].body


def test_credentials_rotated_by_another_worker_are_reloaded_and_the_call_retried_once(
        scope_a, shopify_fake, channel_settings):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=5)
    run_connect(merchant, store.integration)
    stale = Integration.objects.get(pk=store.integration.pk)
    Listing.objects.filter(merchant=merchant).update(last_pushed_quantity=None, channel_quantity=None)
    fresh = shopify_fake.issue_token(store.shop.domain)
    Integration.objects.filter(pk=stale.pk).update(credentials={"shop_domain": store.shop.domain,
                                                                "access_token": fresh})
    shopify_fake.revoke(store.token)

    result = listings_push(merchant=merchant, integration=stale)

    assert result == {"pushed": 4, "failed": 0, "unchanged": 0}
    assert len(shopify_fake.calls(status=401)) == 1
    assert [c.status for c in shopify_fake.calls(root_field="inventorySetQuantities")] == [200]
    assert Integration.objects.get(pk=stale.pk).status == Integration.Status.ACTIVE


def test_one_refused_item_in_a_push_of_300_fails_alone_on_its_listing(scope_a, shopify_fake, channel_settings):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, copies=75, stock=9)
    run_connect(merchant, store.integration)
    assert Listing.objects.filter(merchant=merchant, product__isnull=False).count() == 300
    gone = Listing.objects.filter(merchant=merchant).order_by("id")[10]
    Listing.objects.filter(pk=gone.pk).update(channel_ref="1")  # its variant was deleted on Shopify

    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})

    gone.refresh_from_db()
    assert gone.error == "The specified inventory item could not be found."
    assert (gone.last_pushed_quantity, gone.error_at is not None) == (None, True)
    rest = Listing.objects.filter(merchant=merchant).exclude(pk=gone.pk)
    assert set(rest.values_list("last_pushed_quantity", "error")) == {(9, "")}
    calls = shopify_fake.calls(root_field="inventorySetQuantities")
    assert [len(c.variables["input"]["quantities"]) for c in calls] == [250, 249, 50]
    assert not AvailabilityMark.objects.filter(merchant=merchant, consumer="channels").exists()


def test_our_pushed_value_echoed_back_changes_nothing_and_drift_is_overwritten(scope_a, shopify_fake,
                                                                               channel_settings):
    from integrations.sync import listing_channel_quantity_seen

    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=12)
    run_connect(merchant, store.integration)
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})
    listing = Listing.objects.get(merchant=merchant, sku="IPOD2008PINK")
    assert listing.last_pushed_quantity == 12
    calls = len(shopify_fake.calls(root_field="inventorySetQuantities"))

    echo = listing_channel_quantity_seen(merchant=merchant, integration=store.integration,
                                         external_id=listing.external_id, quantity=12)
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})

    assert echo == "echo"
    assert not AvailabilityMark.objects.filter(merchant=merchant, consumer="channels").exists()
    assert len(shopify_fake.calls(root_field="inventorySetQuantities")) == calls
    assert "drift_count" not in Integration.objects.get(pk=store.integration.pk).checkpoints

    variant = store.shop.variant_by_sku("IPOD2008PINK")
    store.shop.set_quantity(variant.inventory_item_id, int(store.location_id()), 3)  # someone edited Shopify
    drift = listing_channel_quantity_seen(merchant=merchant, integration=store.integration,
                                          external_id=listing.external_id, quantity=3)
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})

    assert drift == "drift"
    assert Integration.objects.get(pk=store.integration.pk).checkpoints["drift_count"] == 1
    (push,) = shopify_fake.calls(root_field="inventorySetQuantities")[calls:]
    assert [(q["quantity"], q["changeFromQuantity"]) for q in push.variables["input"]["quantities"]] == [(12, 3)]
    assert store.shop.quantity(variant.inventory_item_id, int(store.location_id())) == 12
    listing.refresh_from_db()
    assert (listing.last_pushed_quantity, listing.channel_quantity) == (12, 12)
    assert listing_channel_quantity_seen(merchant=merchant, integration=store.integration,
                                         external_id="no-such-variant", quantity=1) == "unknown"


def test_a_task_for_one_merchant_never_touches_another(merchant_a, merchant_b, shopify_fake, channel_settings):
    with tenant_scope(merchant_b.merchant):
        theirs = connect_store(shopify_fake, merchant_b.merchant, domain="bob-shop.myshopify.com", stock=4)
        run_connect(merchant_b.merchant, theirs.integration)
        Listing.objects.filter(merchant=merchant_b.merchant).update(last_pushed_quantity=None)
        their_marks = AvailabilityMark.objects.filter(merchant=merchant_b.merchant, consumer="channels").count()
    before = len(shopify_fake.calls())

    poll = integration_poll_task.apply_async(kwargs={"merchant_id": merchant_a.merchant.pk,
                                                     "integration_id": theirs.integration.pk}).get()
    stock_push_task.apply_async(kwargs={"merchant_id": merchant_a.merchant.pk})

    assert poll == "inactive"  # B's integration does not exist for A
    assert len(shopify_fake.calls()) == before
    with tenant_scope(merchant_b.merchant):
        assert AvailabilityMark.objects.filter(merchant=merchant_b.merchant, consumer="channels").count() == their_marks
        assert set(Listing.objects.filter(merchant=merchant_b.merchant).values_list(
            "last_pushed_quantity", flat=True)) == {None}


def test_a_throttled_tracking_push_waits_its_backoff_then_fulfils_once(scope_a, shopify_fake, channel_settings):
    from integrations.tasks import tracking_push_task
    from orders.models import TrackingOutbox
    from orders.services import order_fulfill_all

    channel_settings.CHANNEL_HTTP_MAX_ATTEMPTS = 1
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=5)
    (placed,) = seed_orders(store.shop, 1, start=timezone.now() - timedelta(hours=1))
    run_connect(merchant, store.integration)
    order = Order.objects.get(merchant=merchant, external_id=str(placed.id))
    order_fulfill_all(merchant=merchant, order=order, carrier="DHL", tracking_number="JD0146")
    shopify_fake.fail_next(1, status=429, retry_after=30)

    tracking_push_task.apply_async(kwargs={"merchant_id": merchant.pk})

    row = TrackingOutbox.objects.get(merchant=merchant, order=order)
    assert row.processed_at is None and "429" in row.last_error
    assert row.next_attempt_at >= timezone.now() + timedelta(seconds=29)  # never before Retry-After
    tracking_push_task.apply_async(kwargs={"merchant_id": merchant.pk})  # not due yet: nothing sent
    assert store.shop.fulfillments_of(placed.id) == []

    TrackingOutbox.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    tracking_push_task.apply_async(kwargs={"merchant_id": merchant.pk})

    row.refresh_from_db()
    (fulfillment,) = store.shop.fulfillments_of(placed.id)
    assert (row.processed_at is not None, row.channel_fulfillment_id, row.attempts) == (True, str(fulfillment.id), 2)
