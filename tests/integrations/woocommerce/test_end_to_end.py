"""WooCommerce end to end through the sync engine's tasks against the fake store (issue 15's list): connect,
backfill 1,000 orders across pages, each once, reservations exact (nothing for pending or failed), ship, the
note and the completion at the fake, one stock change in one batch call; a 500 in the middle of the backfill
costs nothing and doubles nothing; revoked keys; another merchant's store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db.models import Sum
from django.utils import timezone

from accounts.tenancy import tenant_scope
from integrations.models import Integration, Listing
from integrations.tasks import integration_poll_task, stock_push_task, tracking_push_task
from inventory import services as inventory_services
from inventory.models import Product, StockLevel
from jobs.models import WorkerJob
from orders.models import Order, OrderStatus, TrackingOutbox
from orders.services import order_fulfill_all
from tests.integrations.sync.conftest import run_connect
from tests.integrations.woocommerce.conftest import woo_store

pytestmark = pytest.mark.django_db

BATCH = r"/products(/\d+/variations)?/batch"


def _batches(fake):
    """The stock batches sent (the connection test's empty write probe is no push)."""
    return [c for c in fake.calls(method="POST", path=BATCH) if (c.body or {}).get("update")]


def _seed_backfill(fake, now):
    """1,000 orders over three days across the store's two products (one a variation): 940 paid
    (`processing`), 30 `pending` and 30 `failed` (not paid: nothing reserved)."""
    mug = next(p for p in fake.store.products.values() if p["sku"] == "MUG-1")
    tee = next(p for p in fake.store.products.values() if p["sku"] == "TEE-S")
    orders = []
    for n in range(1000):
        status = "pending" if n % 100 < 3 else "failed" if n % 100 < 6 else "processing"
        at = (now - timedelta(days=3) + timedelta(minutes=n)).replace(tzinfo=None)
        orders.append(fake.store.add_order([(mug, 1), (tee, 2)], status=status, created_gmt=at, modified_gmt=at))
    return orders


def test_connect_backfills_a_thousand_orders_then_tracking_and_stock_reach_the_store(
        scope_a, woo_fake, woo_channel_settings):
    merchant = scope_a.merchant
    store = woo_store(woo_fake, merchant, stock=5000)
    seeded = _seed_backfill(woo_fake, timezone.now())

    job = run_connect(merchant, store.integration)

    assert (job.status, job.result["orders"], job.result["listings"]) == (WorkerJob.Status.SUCCEEDED, 1000, 2)
    assert len([c for c in woo_fake.calls(path="/orders") if "modified_after" in c.query]) == 10  # pages of 100
    integration = store.integration
    assert integration.checkpoints["webhooks"]["ok"] is True
    assert sorted(h.topic for h in woo_fake.store.webhooks.values()) == [
        "order.created", "order.deleted", "order.updated", "product.updated"]
    assert {h.secret for h in woo_fake.store.webhooks.values()} == {integration.credentials["webhook_secret"]}
    orders = Order.objects.filter(merchant=merchant, integration=integration)
    assert orders.count() == 1000
    assert set(orders.values_list("external_id", flat=True)) == {str(o["id"]) for o in seeded}
    assert orders.filter(status=OrderStatus.AWAITING_PAYMENT).count() == 60
    reserved = dict(StockLevel.objects.filter(merchant=merchant).values_list("product__sku")
                    .annotate(r=Sum("reserved")).values_list("product__sku", "r"))
    assert reserved == {"MUG-1": 940, "TEE-S": 1880}

    # the first push: each listing's available, manage_stock on, one batch per grouping
    assert stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk}).get().startswith("ok")
    first = _batches(woo_fake)
    assert len(first) == 2
    quantities = {p["sku"]: p["stock_quantity"] for p in woo_fake.store.products.values() if p["type"] != "variable"}
    assert quantities == {"MUG-1": 5000 - 940, "TEE-S": 5000 - 1880}

    # ship one paid order: a customer note with the tracking, and the order completed at the store
    shipped = next(o for o in seeded if o["status"] == "processing")
    order = orders.get(external_id=str(shipped["id"]))
    order_fulfill_all(merchant=merchant, order=order, carrier="UPS", tracking_number="1Z999AA10123456784")
    tracking_push_task.apply_async(kwargs={"merchant_id": merchant.pk})
    tracking_push_task.apply_async(kwargs={"merchant_id": merchant.pk})  # nothing due: nothing sent again
    [note] = woo_fake.store.notes[shipped["id"]]
    assert note["customer_note"] is True and "Tracking number: 1Z999AA10123456784" in note["note"]
    assert woo_fake.store.orders[shipped["id"]]["status"] == "completed"
    row = TrackingOutbox.objects.get(merchant=merchant, order=order)
    assert (row.processed_at is not None, row.channel_fulfillment_id, row.last_error) == (True, str(note["id"]), "")

    # one stock change: one batch call with that one product (4,999 on hand after the shipment, 939 reserved)
    mug = Product.objects.get(merchant=merchant, sku="MUG-1")
    inventory_services.stock_adjust(merchant=merchant, product_id=mug.pk, delta=7, reason="received")
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})
    calls = _batches(woo_fake)
    assert len(calls) == 3
    assert [(u["stock_quantity"], u["manage_stock"]) for u in calls[-1].body["update"]] == [(4999 - 939 + 7, True)]
    listing = Listing.objects.get(merchant=merchant, integration=integration, sku="MUG-1")
    assert (listing.last_pushed_quantity, listing.channel_quantity, listing.error) == (4999 - 939 + 7,) * 2 + ("",)


def test_a_500_in_the_middle_of_the_backfill_costs_nothing_and_doubles_nothing(
        scope_a, woo_fake, woo_channel_settings):
    merchant = scope_a.merchant
    store = woo_store(woo_fake, merchant, stock=5000)
    _seed_backfill(woo_fake, timezone.now())
    # the connection test (3 calls), the listings (2 pages and one variations read) and the webhooks (a list,
    # four creates) pass, then three orders pages; the fourth fails on every attempt the client makes
    woo_fake.fail_after(3 + 3 + 5 + 3, 5, status=500)

    job = run_connect(merchant, store.integration)

    assert job.status == WorkerJob.Status.SUCCEEDED and job.attempts == 2
    assert len(woo_fake.calls(injected=True)) == 5
    orders = Order.objects.filter(merchant=merchant, integration=store.integration)
    assert orders.count() == 1000 and orders.values("external_id").distinct().count() == 1000
    reserved = dict(StockLevel.objects.filter(merchant=merchant).values_list("product__sku")
                    .annotate(r=Sum("reserved")).values_list("product__sku", "r"))
    assert reserved == {"MUG-1": 940, "TEE-S": 1880}


def test_revoked_keys_need_reconnecting_and_email_the_owner_once(
        scope_a, woo_fake, woo_channel_settings, django_capture_on_commit_callbacks):
    merchant = scope_a.merchant
    store = woo_store(woo_fake, merchant, stock=5)
    run_connect(merchant, store.integration)
    woo_fake.revoke_key(store.key.consumer_key)

    with django_capture_on_commit_callbacks(execute=True):
        first = integration_poll_task.apply_async(kwargs={"merchant_id": merchant.pk,
                                                          "integration_id": store.integration.pk}).get()
        again = integration_poll_task.apply_async(kwargs={"merchant_id": merchant.pk,
                                                          "integration_id": store.integration.pk}).get()

    assert (first, again) == ("needs_reconnect", "inactive")
    assert Integration.objects.get(pk=store.integration.pk).status == Integration.Status.NEEDS_RECONNECT
    assert len(mail.outbox) == 1 and "needs reconnecting" in mail.outbox[0].subject + mail.outbox[0].body


def test_another_merchants_store_is_404(merchant_a, merchant_b, woo_fake, woo_channel_settings):
    with tenant_scope(merchant_a.merchant):
        store = woo_store(woo_fake, merchant_a.merchant, stock=1)
    pk = store.integration.pk

    for path in (f"/api/v1/integrations/{pk}/", f"/api/v1/integrations/{pk}/doctor/",
                 f"/api/v1/integrations/{pk}/listings/"):
        assert merchant_b.api.get(path).status_code == 404
    assert merchant_b.web.get(f"/integrations/{pk}/").status_code == 404
