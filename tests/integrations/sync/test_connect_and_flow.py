"""Connect → backfill → ship → tracking → stock, end to end through the sync engine's tasks against
the Shopify fake; and the connect job's steps: scopes, location, listings, webhooks, checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from core.errors import Conflict
from integrations.models import Integration, Listing
from integrations.selectors import integration_doctor
from integrations.tasks import stock_push_task, tracking_push_task
from inventory import services as inventory_services
from inventory.models import Product, StockLevel
from jobs.models import WorkerJob
from notifications.models import NotificationLog
from orders.models import Order, TrackingOutbox
from orders.services import order_fulfill_all
from tests.fakes.shopify import seed_orders
from tests.integrations.sync.conftest import connect_store, run_connect


def _set_calls(fake):
    return fake.calls(root_field="inventorySetQuantities")


def test_connect_backfills_a_thousand_orders_then_tracking_and_stock_reach_the_fake(
        scope_a, shopify_fake, channel_settings):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=600)
    now = timezone.now()
    seeded = seed_orders(store.shop, 1000, lines=2, start=now - timedelta(days=3), step=timedelta(minutes=1))
    seed_orders(store.shop, 5, start=now - timedelta(days=90))  # older than backfill_days: not fetched

    job = run_connect(merchant, store.integration)

    assert (job.status, job.result["orders"], job.result["listings"]) == (WorkerJob.Status.SUCCEEDED, 1000, 4)
    assert job.progress_done == 1000
    integration = store.integration
    assert integration.settings["location_external_id"] == store.location_id()  # the one location, mapped
    assert integration.checkpoints["missing_scopes"] == []
    assert integration.checkpoints["webhooks"]["ok"] is True
    assert sorted(w.topic for w in store.shop.webhooks.values()) == [
        "APP_UNINSTALLED", "INVENTORY_LEVELS_UPDATE", "ORDERS_CANCELLED", "ORDERS_CREATE", "ORDERS_PAID", "ORDERS_UPDATED",
        "PRODUCTS_UPDATE"]
    assert {w.uri for w in store.shop.webhooks.values()} == {
        f"https://switchboard.example.test/webhooks/shopify/{integration.webhook_endpoint.token}/"}
    assert datetime.fromisoformat(integration.checkpoints["orders_updated_at"]) == max(
        o.updated_at for o in seeded).astimezone(UTC).replace(microsecond=0)
    assert "orders_cursor" not in integration.checkpoints
    assert integration.last_success_at is not None and integration.last_order_seen_at is not None
    orders = Order.objects.filter(merchant=merchant, integration=integration)
    assert orders.count() == 1000
    assert set(orders.values_list("external_id", flat=True)) == {str(o.id) for o in seeded}
    assert StockLevel.objects.filter(merchant=merchant).aggregate(r=Sum("reserved"))["r"] == 2000
    assert Listing.objects.filter(merchant=merchant, integration=integration, product__isnull=False).count() == 4
    codes = {f.code for f in integration_doctor(merchant=merchant, integration=integration)}
    assert not codes & {"location_not_mapped", "webhooks_missing", "webhooks_unknown", "scopes_missing",
                        "listing_sku_unknown", "never_synced"}

    # the first push: every listing's available (600 on hand - 500 reserved), in one call
    assert stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk}).get().startswith("ok")
    (first,) = _set_calls(shopify_fake)
    assert len(first.variables["input"]["quantities"]) == 4
    for variant in store.shop.variants.values():
        assert store.shop.quantity(variant.inventory_item_id, int(store.location_id())) == 100

    # ship one order: its tracking becomes one fulfillment on the fake
    order = orders.get(external_id=str(seeded[0].id))
    order_fulfill_all(merchant=merchant, order=order, carrier="UPS", tracking_number="1Z999AA10123456784")
    tracking_push_task.apply_async(kwargs={"merchant_id": merchant.pk})
    (fulfillment,) = store.shop.fulfillments_of(seeded[0].id)
    assert [t["number"] for t in fulfillment.tracking] == ["1Z999AA10123456784"]
    assert sorted(fulfillment.lines) == sorted((li.id, li.quantity) for li in seeded[0].line_items)
    row = TrackingOutbox.objects.get(merchant=merchant, order=order)
    assert (row.processed_at is not None, row.channel_fulfillment_id, row.last_error) == (
        True, str(fulfillment.id), "")
    tracking_push_task.apply_async(kwargs={"merchant_id": merchant.pk})  # nothing due: nothing sent again
    assert len(store.shop.fulfillments_of(seeded[0].id)) == 1

    # shipping moved on_hand and reserved together: available unchanged, nothing pushed
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})
    assert len(_set_calls(shopify_fake)) == 1

    # two adjustments: one batched call with the right quantities
    pink, green = (Product.objects.get(merchant=merchant, sku=s) for s in ("IPOD2008PINK", "IPOD2008GREEN"))
    inventory_services.stock_adjust(merchant=merchant, product_id=pink.pk, delta=5, reason="received")
    inventory_services.stock_adjust(merchant=merchant, product_id=green.pk, delta=-3, reason="adjustment")
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})
    calls = _set_calls(shopify_fake)
    assert len(calls) == 2
    pushed = {q["inventoryItemId"]: (q["quantity"], q["changeFromQuantity"])
              for q in calls[-1].variables["input"]["quantities"]}
    pink_item = store.shop.variant_by_sku("IPOD2008PINK").inventory_item_id
    green_item = store.shop.variant_by_sku("IPOD2008GREEN").inventory_item_id
    assert pushed == {f"gid://shopify/InventoryItem/{pink_item}": (105, 100),
                      f"gid://shopify/InventoryItem/{green_item}": (97, 100)}
    assert store.shop.quantity(pink_item, int(store.location_id())) == 105
    listing = Listing.objects.get(merchant=merchant, integration=integration, sku="IPOD2008PINK")
    assert (listing.last_pushed_quantity, listing.channel_quantity, listing.error) == (105, 105, "")


def test_push_rules_and_listing_overrides_decide_the_quantity(scope_a, shopify_fake, channel_settings):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=50)
    run_connect(merchant, store.integration)
    integration = store.integration
    integration.settings = {**integration.settings, "buffer_units": 5, "percent": 50, "max_quantity": 20,
                            "zero_at_or_below": 3}
    integration.save(update_fields=["settings"])
    by_sku = {lst.sku: lst for lst in Listing.objects.filter(merchant=merchant, integration=integration)}
    Listing.objects.filter(pk=by_sku["IPOD2008PINK"].pk).update(override_quantity=7)
    Listing.objects.filter(pk=by_sku["IPOD2008GREEN"].pk).update(is_push_disabled=True)
    black = Product.objects.get(merchant=merchant, sku="IPOD2008BLACK")
    inventory_services.stock_adjust(merchant=merchant, product_id=black.pk, delta=-42, reason="adjustment")  # 8 left

    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})

    shown = {v.sku: store.shop.quantity(v.inventory_item_id, int(store.location_id()))
             for v in store.shop.variants.values()}
    recorded_green = store.shop.variant_by_sku("IPOD2008GREEN")
    assert shown["IPOD2008PINK"] == 7  # the override
    assert shown["IPOD2008RED"] == 20  # (50 - 5) * 50% = 22, capped at 20
    assert shown["IPOD2008BLACK"] == 0  # (8 - 5) * 50% = 1: at or below 3 sends 0
    assert by_sku["IPOD2008GREEN"].channel_quantity == shown["IPOD2008GREEN"] == store.shop.quantity(
        recorded_green.inventory_item_id, int(store.location_id()))  # push disabled: untouched
    assert Listing.objects.get(pk=by_sku["IPOD2008GREEN"].pk).last_pushed_quantity is None


def test_a_second_shop_location_is_left_for_the_merchant_to_choose_then_sync_now_pushes(
        scope_a, shopify_fake, channel_settings, django_capture_on_commit_callbacks):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant)
    main = store.shop.primary_location()
    store.shop.add_location("Overflow")
    for location in store.shop.locations.values():
        location.is_primary = False  # two locations, none primary

    run_connect(merchant, store.integration)

    assert "location_external_id" not in store.integration.settings
    codes = {f.code for f in integration_doctor(merchant=merchant, integration=store.integration)}
    assert "location_not_mapped" in codes
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})
    assert _set_calls(shopify_fake) == []  # nowhere to push to

    # the merchant picks the location, then "sync now": listings, webhooks, orders, and the stock push
    from integrations.services import integration_sync, integration_update

    chosen = str(main.id)
    integration_update(merchant=merchant, actor=scope_a.user, integration=store.integration,
                       settings={"location_external_id": chosen})
    with django_capture_on_commit_callbacks(execute=True):
        job = integration_sync(merchant=merchant, actor=scope_a.user, integration=store.integration)
    job.refresh_from_db()

    assert (job.status, job.result["stock_pushed"], job.result["stock_failed"]) == (WorkerJob.Status.SUCCEEDED, 4, 0)
    (push,) = _set_calls(shopify_fake)
    assert {q["locationId"] for q in push.variables["input"]["quantities"]} == {f"gid://shopify/Location/{chosen}"}


def test_missing_scopes_are_a_finding_and_the_store_stays_active(scope_a, shopify_fake, channel_settings):
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant)
    limited = shopify_fake.issue_token(store.shop.domain, scopes=[
        "read_orders", "read_products", "read_inventory", "write_inventory", "read_locations"])
    Integration.objects.filter(pk=store.integration.pk).update(
        credentials={"shop_domain": store.shop.domain, "access_token": limited})

    job = run_connect(merchant, store.integration)

    assert job.status == WorkerJob.Status.SUCCEEDED
    assert store.integration.status == Integration.Status.ACTIVE
    findings = {f.code: f for f in integration_doctor(merchant=merchant, integration=store.integration)}
    assert "write_merchant_managed_fulfillment_orders" in findings["scopes_missing"].message


def test_without_an_https_webhook_base_webhooks_are_skipped_with_a_finding(scope_a, shopify_fake,
                                                                           channel_settings):
    channel_settings.WEBHOOK_BASE_URL = "http://localhost:8000"
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant)

    job = run_connect(merchant, store.integration)

    assert job.status == WorkerJob.Status.SUCCEEDED
    assert store.shop.webhooks == {}
    assert shopify_fake.calls(root_field="webhookSubscriptionCreate") == []
    findings = {f.code: f for f in integration_doctor(merchant=merchant, integration=store.integration)}
    assert "WEBHOOK_BASE_URL" in findings["webhooks_missing"].message


def test_the_poll_fetches_what_changed_and_resubscribes_deleted_webhooks(scope_a, shopify_fake, channel_settings):
    from integrations.sync import integration_poll, integrations_due_for_poll

    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=10)
    seed_orders(store.shop, 3, start=timezone.now() - timedelta(days=1), step=timedelta(hours=1))
    run_connect(merchant, store.integration)
    # orders placed before the store was connected are history: the backfill emails nobody
    assert not NotificationLog.objects.filter(merchant=merchant, kind="new_order").exists()
    next_poll = datetime.fromisoformat(store.integration.checkpoints["next_poll_at"])
    assert timedelta(minutes=4) <= next_poll - timezone.now() <= timedelta(minutes=6, seconds=1)
    assert (merchant.pk, store.integration.pk) not in integrations_due_for_poll()
    assert (merchant.pk, store.integration.pk) in integrations_due_for_poll(now=next_poll + timedelta(seconds=1))
    deleted = next(iter(store.shop.webhooks))
    del store.shop.webhooks[deleted]
    new = seed_orders(store.shop, 2, start=timezone.now())
    before = len(shopify_fake.calls(root_field="orders"))

    assert integration_poll(merchant=merchant, integration_id=store.integration.pk) == "ok orders=3"  # the newest known, re-read in the overlap

    assert Order.objects.filter(merchant=merchant).count() == 5
    # the two placed after connecting are news: one new-order email each
    assert NotificationLog.objects.filter(merchant=merchant, kind="new_order").count() == 2
    assert set(Order.objects.filter(merchant=merchant).values_list("external_id", flat=True)) >= {
        str(o.id) for o in new}
    assert len(shopify_fake.calls(root_field="orders")) == before + 1
    assert len(store.shop.webhooks) == 7
    assert datetime.fromisoformat(Integration.objects.get(pk=store.integration.pk).checkpoints[
        "orders_updated_at"]) == max(o.updated_at for o in new).astimezone(UTC).replace(microsecond=0)  # Shopify's precision


def test_create_product_from_an_unmatched_listing_maps_it(scope_a, shopify_fake, channel_settings):
    import pytest

    from integrations.services import listing_create_product

    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant)
    Product.objects.filter(merchant=merchant, sku="IPOD2008PINK").delete()
    run_connect(merchant, store.integration)
    unmatched = Listing.objects.get(merchant=merchant, sku="IPOD2008PINK")
    assert unmatched.product is None

    mapped = listing_create_product(merchant=merchant, actor=scope_a.user, listing=unmatched)

    product = Product.objects.get(merchant=merchant, sku="IPOD2008PINK")
    assert (mapped.listing.product_id, product.title) == (product.pk, unmatched.title)
    taken = Listing.objects.get(merchant=merchant, sku="IPOD2008RED")
    with pytest.raises(Conflict) as mapped_already:  # matched by SKU at import: it has its product
        listing_create_product(merchant=merchant, actor=scope_a.user, listing=taken)
    assert mapped_already.value.code == "listing_already_mapped"


def test_disconnect_removes_our_webhooks_and_keeps_the_orders(scope_a, shopify_fake, channel_settings,
                                                              django_capture_on_commit_callbacks):
    from integrations.services import integration_disconnect

    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=5)
    seed_orders(store.shop, 2, start=timezone.now() - timedelta(hours=2))
    run_connect(merchant, store.integration)
    assert len(store.shop.webhooks) == 7

    with django_capture_on_commit_callbacks(execute=True):
        integration_disconnect(merchant=merchant, actor=scope_a.user, integration=store.integration)

    assert store.shop.webhooks == {}
    integration = Integration.objects.get(pk=store.integration.pk)
    assert (integration.status, integration.checkpoints["webhooks"]["ok"]) == (Integration.Status.DISCONNECTED, False)
    assert Order.objects.filter(merchant=merchant, integration=integration).count() == 2


def test_changing_push_rules_pushes_the_new_quantities_at_once(
        scope_a, shopify_fake, channel_settings, django_capture_on_commit_callbacks):
    from integrations.services import integration_update

    # given a connected store whose listings show our 10 units each
    merchant = scope_a.merchant
    store = connect_store(shopify_fake, merchant, stock=10)
    run_connect(merchant, store.integration)
    stock_push_task.apply_async(kwargs={"merchant_id": merchant.pk})
    matched = Listing.objects.filter(merchant=merchant, integration=store.integration, product__isnull=False)
    assert set(matched.values_list("last_pushed_quantity", flat=True)) == {10}
    before = len(_set_calls(shopify_fake))
    # when the merchant holds 2 units back
    with django_capture_on_commit_callbacks(execute=True):
        integration_update(merchant=merchant, actor=scope_a.user, integration=store.integration,
                           settings={"buffer_units": 2})
    # then one batched call shows 8 for every listing, without waiting for a stock change
    calls = _set_calls(shopify_fake)[before:]
    assert len(calls) == 1
    assert {q["quantity"] for q in calls[0].variables["input"]["quantities"]} == {8}
    assert set(matched.values_list("last_pushed_quantity", flat=True)) == {8}
    # and renaming the store pushes nothing
    with django_capture_on_commit_callbacks(execute=True):
        integration_update(merchant=merchant, actor=scope_a.user, integration=store.integration, name="Renamed")
    assert len(_set_calls(shopify_fake)) == before + 1
