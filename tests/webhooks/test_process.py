"""Processing: each topic reaches its domain service once in effect; failures are retried on the shared
backoff from the row (not Celery countdowns), dead-lettered after their attempts, and nothing is
stranded; old bodies and rows are pruned."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from django.utils import timezone

from accounts.tenancy import tenant_scope, unscoped
from core.receivers import WebhookReceiver, webhook_receivers
from integrations.models import Integration, Listing
from inventory.models import AvailabilityMark
from notifications.models import NotificationLog
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from tests.fakes.shopify.schema import REALWORLD_DIR
from tests.fakes.shopify.webhooks import webhook_request
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.webhooks.conftest import SECRET, SHOP, deliver, new_event_id, order_body, token_of
from webhooks.models import WebhookEvent
from webhooks.services import (
    webhook_event_process,
    webhook_events_dispatch,
    webhook_events_prune,
    webhook_events_replay,
    webhook_receive,
)

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status


def _event(merchant, **filters) -> WebhookEvent:
    with tenant_scope(merchant):
        return WebhookEvent.objects.filter(merchant=merchant, **filters).order_by("-id").first()


# ---------------------------------------------------------------- every recorded Shopify order


def _recorded_orders() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(Path(REALWORLD_DIR).glob("rest_*.json")):
        data = json.loads(path.read_text())
        body = data["response"]["body"] if "response" in data and "request" in data else data
        orders = body.get("orders") or ([body["order"]] if "order" in body else [])
        found += [(f"{path.name}#{i}", order) for i, order in enumerate(orders)]
    return found


RECORDED = _recorded_orders()


def test_the_recorded_orders_were_found():
    assert len(RECORDED) >= 8


@pytest.mark.parametrize(("name", "order"), RECORDED, ids=[n for n, _ in RECORDED])
def test_every_recorded_shopify_order_delivered_signed_becomes_one_exact_order(
        name, order, merchant_a, run_on_commit, client):
    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        store = make_integration(merchant, name=name[:100])  # sample orders share ids: one store each
    response = run_on_commit(client, store, "orders/create", order)  # the bare order, as Shopify sends it

    assert response.status_code == 200
    event = _event(merchant)
    assert event.status == Status.PROCESSED, event.last_error
    with tenant_scope(merchant):
        [stored] = Order.objects.filter(integration_id=store.pk)
        assert event.result == {"order_id": stored.pk, "action": "created"}
        assert stored.external_id == str(order["id"])
        assert stored.currency == order["currency"]
        assert stored.total_amount == Decimal(order["total_price"])
        assert stored.subtotal_amount == Decimal(order["subtotal_price"])
        assert stored.tax_amount == Decimal(order["total_tax"])
        lines = list(OrderLine.objects.filter(order=stored).order_by("position", "id")
                     .values_list("external_id", "sku", "quantity", "unit_price_amount"))
    assert lines == [(str(li["id"]), li.get("sku") or "", li["quantity"], Decimal(li["price"]))
                     for li in order.get("line_items") or []]


# ---------------------------------------------------------------- orders


def test_an_update_delivered_before_its_create_creates_the_order_and_the_late_create_changes_nothing(
        merchant_a, shop_a, run_on_commit, client):
    merchant = merchant_a.merchant
    run_on_commit(client, shop_a, "orders/updated", order_body(quantity=3, updated_at="2026-03-02T10:20:00-05:00"))
    run_on_commit(client, shop_a, "orders/create", order_body(quantity=2, updated_at="2026-03-02T10:15:03-05:00"))

    with tenant_scope(merchant):
        order = Order.objects.get()
        assert OrderLine.objects.get(order=order).quantity == 3
    assert _event(merchant, topic="orders/updated").result["action"] == "created"
    assert _event(merchant, topic="orders/create").result["action"] == "stale"


def test_paid_for_an_order_never_seen_creates_it_and_cancelled_cancels_it(merchant_a, shop_a, run_on_commit, client):
    merchant = merchant_a.merchant
    run_on_commit(client, shop_a, "orders/paid", order_body(7001))
    with tenant_scope(merchant):
        assert Order.objects.get(external_id="7001").status != OrderStatus.CANCELLED
    run_on_commit(client, shop_a, "orders/cancelled",
                  order_body(7001, cancelled=True, updated_at="2026-03-02T12:00:00-05:00"))
    with tenant_scope(merchant):
        assert Order.objects.get(external_id="7001").status == OrderStatus.CANCELLED


def test_a_replayed_processed_event_changes_nothing(merchant_a, shop_a, run_on_commit, client,
                                                    django_capture_on_commit_callbacks):
    merchant = merchant_a.merchant
    run_on_commit(client, shop_a, "orders/create", order_body())
    event = _event(merchant)
    with tenant_scope(merchant):
        events_before = OrderEvent.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            assert webhook_events_replay(merchant=merchant, events=[event]) == 1
        assert OrderEvent.objects.count() == events_before
        assert Order.objects.count() == 1
    again = _event(merchant)
    assert (again.status, again.attempts, again.result["action"]) == (Status.PROCESSED, 1, "unchanged")


def test_an_order_body_our_mapping_refuses_fails_once_without_retries(merchant_a, shop_a, run_on_commit, client):
    run_on_commit(client, shop_a, "orders/create", {"id": 99, "line_items": []})  # no name, no created_at
    event = _event(merchant_a.merchant)
    assert (event.status, event.attempts, event.next_attempt_at) == (Status.FAILED, 1, None)
    assert "name and created_at are required" in event.last_error


# ---------------------------------------------------------------- listings and quantities


def test_products_update_upserts_the_variants_as_listings_matched_by_sku(merchant_a, shop_a, run_on_commit, client):
    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        pink = make_product(merchant, "IPOD2008PINK")
    product = json.loads((Path(REALWORLD_DIR) / "rest_product_with_variants_fixture.json").read_text())["product"]
    pink_variant = next(v for v in product["variants"] if v["sku"] == "IPOD2008PINK")
    pink_variant["inventory_item_id"] = 808950810  # modern payloads carry it; this 2008 fixture does not
    run_on_commit(client, shop_a, "products/update", product)
    run_on_commit(client, shop_a, "products/update", product)  # another event, same content: nothing changes

    with tenant_scope(merchant):
        listings = {row.sku: row for row in Listing.objects.filter(integration=shop_a)}
    assert set(listings) == {v["sku"] for v in product["variants"]}
    assert listings["IPOD2008PINK"].product_id == pink.pk
    assert listings["IPOD2008PINK"].channel_ref == "808950810"
    assert listings["IPOD2008PINK"].external_id == str(pink_variant["id"])
    assert listings["IPOD2008PINK"].title == f"{product['title']} - {pink_variant['title']}"
    with tenant_scope(merchant):
        first, second = WebhookEvent.objects.order_by("id")
    assert first.result["created"] == len(product["variants"])
    assert second.result["created"] == 0 and second.result["updated"] == 0


def test_inventory_levels_update_of_our_own_value_changes_nothing_and_a_different_one_is_drift(
        merchant_a, shop_a, run_on_commit, client):
    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        product = make_product(merchant, "MUG-1")
        listing = Listing.objects.create(merchant=merchant, integration=shop_a, external_id="4400001",
                                         channel_ref="3001", sku="MUG-1", product=product,
                                         last_pushed_quantity=14, channel_quantity=14)
        AvailabilityMark.objects.filter(merchant=merchant).delete()
    level = {"inventory_item_id": 3001, "location_id": 77, "available": 14, "updated_at": "2026-03-02T10:15:00Z"}

    run_on_commit(client, shop_a, "inventory_levels/update", level)
    assert _event(merchant).result["listings"] == {"4400001": "echo"}
    with tenant_scope(merchant):
        assert not AvailabilityMark.objects.filter(merchant=merchant).exists()
        assert not Integration.objects.get(pk=shop_a.pk).checkpoints.get("drift_count")

    run_on_commit(client, shop_a, "inventory_levels/update", {**level, "available": 9})
    assert _event(merchant).result["listings"] == {"4400001": "drift"}
    with tenant_scope(merchant):
        listing.refresh_from_db()
        assert listing.channel_quantity == 9
        assert Integration.objects.get(pk=shop_a.pk).checkpoints["drift_count"] == 1
        assert AvailabilityMark.objects.filter(merchant=merchant).exists()  # our truth is pushed over it


# ---------------------------------------------------------------- app and compliance topics


def test_app_uninstalled_disconnects_the_store_and_forgets_its_tokens(merchant_a, shop_a, run_on_commit, client):
    response = run_on_commit(client, shop_a, "app/uninstalled", {"id": 9001, "domain": "test-shop.myshopify.com"})
    assert response.status_code == 200
    with unscoped("test read"):
        row = Integration.objects.get(pk=shop_a.pk)
    assert row.status == Integration.Status.DISCONNECTED
    assert "access_token" not in row.credentials
    assert _event(merchant_a.merchant).result == {"action": "disconnected"}
    assert deliver(client, shop_a, "orders/create", order_body()).status_code == 401


def test_compliance_topics_find_and_erase_the_customers_data_and_say_what_was_done(
        merchant_a, shop_a, run_on_commit, client):
    merchant = merchant_a.merchant
    run_on_commit(client, shop_a, "orders/create", order_body(5566778899))
    run_on_commit(client, shop_a, "orders/create", {**order_body(6000, name="#1043"), "email": "bob@example.test",
                                                     "customer": {"email": "bob@example.test"}})
    with tenant_scope(merchant):
        ada = Order.objects.get(external_id="5566778899")
        bob = Order.objects.get(external_id="6000")
    customer = {"id": 4242, "email": "ada@example.test", "phone": "+15550100"}

    run_on_commit(client, shop_a, "customers/data_request",
                  {"shop_domain": "test-shop.myshopify.com", "customer": customer, "orders_requested": [5566778899],
                   "data_request": {"id": 77}})
    assert _event(merchant).result == {"action": "data-request", "data_request_id": 77,
                                       "orders": [{"id": ada.pk, "number": "#1042", "external_id": "5566778899"}]}

    redact = {"shop_domain": "test-shop.myshopify.com", "customer": customer, "orders_to_redact": [5566778899]}
    run_on_commit(client, shop_a, "customers/redact", redact)
    assert _event(merchant).result == {"action": "customer-redacted", "order_ids": [ada.pk]}
    with tenant_scope(merchant):
        ada.refresh_from_db()
        bob.refresh_from_db()
    assert (ada.customer_email, ada.shipping_address, ada.raw_payload) == ("", {}, {})
    assert bob.customer_email == "bob@example.test"  # another customer's order is untouched

    run_on_commit(client, shop_a, "customers/redact", redact)  # Shopify sends again: nothing more to do
    assert _event(merchant).result == {"action": "customer-redacted", "order_ids": []}

    run_on_commit(client, shop_a, "shop/redact", {"shop_id": 9001, "shop_domain": "test-shop.myshopify.com"})
    assert _event(merchant).result == {"action": "shop-redacted", "order_ids": [bob.pk]}


# ---------------------------------------------------------------- retries, dead letters, stranded events


@pytest.fixture
def poison(settings):
    """A topic whose handler always raises (a bug, a poison payload)."""
    calls = []

    def boom(**kwargs):
        calls.append(kwargs["payload"])
        raise RuntimeError("cannot handle this")

    shopify = webhook_receivers.get("channel:shopify")
    poisoned = WebhookReceiver(**{**shopify.__dict__, "handlers": {**shopify.handlers, "test/poison": boom}})
    with webhook_receivers.registered("channel:shopify", poisoned):
        yield calls


def test_a_failure_is_retried_on_the_backoff_then_dead_and_the_merchant_notified(
        merchant_a, shop_a, poison, run_on_commit, client, django_capture_on_commit_callbacks):
    merchant = merchant_a.merchant
    run_on_commit(client, shop_a, "test/poison", {"id": 1})
    event = _event(merchant)
    assert (event.status, event.attempts) == (Status.FAILED, 1)
    assert "RuntimeError: cannot handle this" in event.last_error
    assert timezone.now() <= event.next_attempt_at <= timezone.now() + timedelta(seconds=30)  # 30 s ceiling, jittered

    now = timezone.now()
    for attempt in range(2, 11):
        due = _event(merchant).next_attempt_at
        assert webhook_events_dispatch(now=due - timedelta(microseconds=1)) == 0  # not due yet
        now = due + timedelta(seconds=1)
        with django_capture_on_commit_callbacks(execute=True):
            assert webhook_events_dispatch(now=now) == 1
        event = _event(merchant)
        ceiling = min(30 * 2 ** (attempt - 1), 6 * 3600)
        if attempt < 10:
            assert (event.status, event.attempts) == (Status.FAILED, attempt)
            assert event.next_attempt_at - timezone.now() <= timedelta(seconds=ceiling + 5)

    assert (event.status, event.attempts, event.next_attempt_at) == (Status.DEAD, 10, None)
    assert len(poison) == 10
    assert webhook_events_dispatch(now=now + timedelta(days=1)) == 0  # dead is final
    with tenant_scope(merchant):
        [note] = NotificationLog.objects.filter(kind="webhook_dead")
    assert note.reference == f"webhook-event:{event.pk}"


def test_a_row_committed_whose_enqueue_was_lost_is_picked_up_by_the_dispatcher(
        merchant_a, shop_a, client, django_capture_on_commit_callbacks, monkeypatch):
    """The web process died between its commit and the enqueue: the row is there, no task was sent."""
    monkeypatch.setattr("webhooks.services.webhook_event_enqueue", lambda event: None)
    assert deliver(client, shop_a, "orders/create", order_body()).status_code == 200
    monkeypatch.undo()
    event = _event(merchant_a.merchant)
    assert event.status == Status.RECEIVED

    assert webhook_events_dispatch() == 0  # within its lease a worker may still be on the way
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_dispatch(now=event.next_attempt_at + timedelta(seconds=1)) == 1
    assert _event(merchant_a.merchant).status == Status.PROCESSED
    with tenant_scope(merchant_a.merchant):
        assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_broker_down_after_the_commit_still_acknowledges_the_stored_row(merchant_a, shop_a, client, monkeypatch):
    """Real commits: the enqueue runs (and fails) inside the request, after the row is committed."""
    def broker_down(task_name, kwargs):
        raise ConnectionError("Redis is not answering")

    monkeypatch.setattr("core.enqueue._send", broker_down)
    response = deliver(client, shop_a, "orders/create", order_body())
    monkeypatch.undo()

    assert response.status_code == 200
    event = _event(merchant_a.merchant)
    assert event.status == Status.RECEIVED
    assert webhook_events_dispatch(now=event.next_attempt_at + timedelta(seconds=1)) == 1  # runs eagerly here
    assert _event(merchant_a.merchant).status == Status.PROCESSED


def test_an_event_whose_worker_died_every_time_is_dead_after_its_attempts(merchant_a, shop_a, poison,
                                                                           django_capture_on_commit_callbacks):
    """Attempts are counted when claimed: a poison event that kills its worker before any outcome is
    written still runs out of attempts instead of looping."""
    merchant = merchant_a.merchant
    raw, headers = webhook_request(topic="orders/create", body=order_body(), secret=SECRET, shop_domain=SHOP)
    with unscoped("test"):
        integration = Integration.objects.get(pk=shop_a.pk)
    with mock.patch("webhooks.services.webhook_event_enqueue"):
        receipt = webhook_receive(segment="shopify", token=token_of(integration), headers=headers, body=raw)
    now = timezone.now()
    with tenant_scope(merchant):
        for _ in range(10):  # claimed, then the worker vanishes: no outcome is ever written
            with mock.patch("webhooks.services._run", side_effect=SystemExit("worker killed")):
                with pytest.raises(SystemExit):
                    webhook_event_process(merchant=merchant, event_id=receipt.event_id, now=now)
            event = _event(merchant)
            assert event.status == Status.PROCESSING
            now = event.next_attempt_at + timedelta(seconds=1)
            webhook_events_dispatch(now=now)  # past the lease: back to received (its enqueue waits for a commit)
        assert webhook_event_process(merchant=merchant, event_id=receipt.event_id, now=now) == "dead"
        assert NotificationLog.objects.filter(kind="webhook_dead").count() == 1
    assert _event(merchant).attempts == 10


def test_a_running_event_is_not_taken_twice_within_its_lease(merchant_a, shop_a, client):
    merchant = merchant_a.merchant
    deliver(client, shop_a, "orders/create", order_body())
    event = _event(merchant)
    with tenant_scope(merchant):
        WebhookEvent.objects.filter(pk=event.pk).update(status=Status.PROCESSING, attempts=1,
                                                         next_attempt_at=timezone.now() + timedelta(minutes=5))
        assert webhook_event_process(merchant=merchant, event_id=event.pk) == "running"
        assert webhook_events_dispatch() == 0


def test_replay_requeues_failed_and_dead_events_and_skips_pruned_ones(merchant_a, merchant_b, shop_a, client,
                                                                      django_capture_on_commit_callbacks):
    merchant = merchant_a.merchant
    deliver(client, shop_a, "orders/create", order_body(1))
    deliver(client, shop_a, "orders/create", order_body(2))
    with tenant_scope(merchant):
        first, second = WebhookEvent.objects.order_by("id")
        WebhookEvent.objects.filter(pk=first.pk).update(status=Status.DEAD, attempts=10, last_error="boom")
        WebhookEvent.objects.filter(pk=second.pk).update(status=Status.PROCESSED, body=None,
                                                          body_pruned_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            assert webhook_events_replay(merchant=merchant, events=WebhookEvent.objects.all()) == 1
        first.refresh_from_db()
        assert (first.status, first.attempts, first.last_error) == (Status.PROCESSED, 1, "")
    with tenant_scope(merchant_b.merchant):  # another merchant cannot replay A's events
        assert webhook_events_replay(merchant=merchant_b.merchant, events=[first]) == 0


def test_replay_skips_an_event_a_worker_is_processing_until_its_lease_runs_out(merchant_a, shop_a, client,
                                                                              django_capture_on_commit_callbacks):
    merchant = merchant_a.merchant
    deliver(client, shop_a, "orders/create", order_body(1))
    with tenant_scope(merchant):
        event = WebhookEvent.objects.get()
        in_flight = {"status": Status.PROCESSING, "attempts": 3}
        WebhookEvent.objects.filter(pk=event.pk).update(**in_flight, next_attempt_at=timezone.now() + timedelta(minutes=5))
        with django_capture_on_commit_callbacks(execute=True):
            assert webhook_events_replay(merchant=merchant, events=[event]) == 0
        event.refresh_from_db()
        assert (event.status, event.attempts) == (Status.PROCESSING, 3)  # left to its worker, attempts still counting
        WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        with django_capture_on_commit_callbacks(execute=True):  # the worker died: its lease ran out
            assert webhook_events_replay(merchant=merchant, events=[event]) == 1
        event.refresh_from_db()
        assert event.status == Status.PROCESSED


# ---------------------------------------------------------------- retention


def test_old_processed_bodies_are_pruned_in_batches_and_identities_kept_longer(merchant_a, shop_a, run_on_commit,
                                                                              client, settings):
    merchant = merchant_a.merchant
    ids = [new_event_id() for _ in range(3)]
    for n, event_id in enumerate(ids):
        run_on_commit(client, shop_a, "orders/create", order_body(100 + n), event_id=event_id)
    now = timezone.now()
    with tenant_scope(merchant):
        old, older, recent = WebhookEvent.objects.order_by("id")
        WebhookEvent.objects.filter(pk=old.pk).update(processed_at=now - timedelta(days=31))
        WebhookEvent.objects.filter(pk=older.pk).update(processed_at=now - timedelta(days=95),
                                                        received_at=now - timedelta(days=95))

    assert webhook_events_prune(now=now, batch=1) == {"bodies_pruned": 2, "rows_deleted": 1}
    with tenant_scope(merchant):
        old.refresh_from_db()
        assert (old.body, old.body_pruned_at) == (None, now)
        assert bytes(WebhookEvent.objects.get(pk=recent.pk).body)
        assert not WebhookEvent.objects.filter(pk=older.pk).exists()
    # A late duplicate of the pruned event is still refused a second row (its identity is kept).
    assert run_on_commit(client, shop_a, "orders/create", order_body(100), event_id=ids[0]).status_code == 200
    with tenant_scope(merchant):
        assert WebhookEvent.objects.count() == 2
    assert webhook_events_prune(now=now) == {"bodies_pruned": 0, "rows_deleted": 0}
