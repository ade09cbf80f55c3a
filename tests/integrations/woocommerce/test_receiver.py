"""WooCommerce deliveries through the webhook inbox (the package's receiver on the seam): the ping answered
200 and stored as nothing, a signed delivery for a new order creates it, the same delivery again and our own
stock echo change nothing, a wrong or missing signature is 401 and stores nothing, order.deleted cancels."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from integrations.models import Listing
from inventory.models import StockLevel
from orders.models import Order, OrderStatus
from orders.services import order_hold
from tests.fakes.woocommerce import ping_request, realworld, webhook_request
from tests.fakes.woocommerce.state import StoreState
from tests.integrations.woocommerce.conftest import woo_store
from tests.webhooks.conftest import url_for
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
SECRET = "our-own-webhook-secret-for-this-store-0123456789"


def _post(client, integration, raw: bytes, headers: dict[str, str]):
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"}
    return client.post(url_for(integration), data=raw, content_type=headers.get("Content-Type", "application/json"),
                       **meta)


@pytest.fixture
def store(scope_a, woo_fake):
    found = woo_store(woo_fake, scope_a.merchant, stock=10)
    found.integration.credentials = {**found.integration.credentials, "webhook_secret": SECRET}
    found.integration.save(update_fields=["credentials"])
    return found


def _order_body(woo_fake, status="processing"):
    mug = next(p for p in woo_fake.store.products.values() if p["sku"] == "MUG-1")
    return woo_fake.store.add_order([(mug, 2)], status=status)


def _events(merchant):
    with tenant_scope(merchant):
        return list(WebhookEvent.objects.filter(merchant=merchant).order_by("id"))


def test_the_ping_is_answered_200_and_stores_nothing(scope_a, store, client):
    raw, headers = ping_request(41)

    response = _post(client, store.integration, raw, headers)

    assert response.status_code == 200 and response.json()["status"] == "handshake"
    assert _events(scope_a.merchant) == []


def test_a_signed_delivery_for_a_new_order_creates_it_and_the_same_again_changes_nothing(
        scope_a, store, woo_fake, client, django_capture_on_commit_callbacks):
    body = _order_body(woo_fake)
    raw, headers = webhook_request(topic="order.created", body=body, secret=SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        first = _post(client, store.integration, raw, headers)
    with django_capture_on_commit_callbacks(execute=True):
        again = _post(client, store.integration, raw, headers)

    assert (first.status_code, again.status_code) == (200, 200)
    [event] = _events(scope_a.merchant)
    assert (event.topic, event.status) == ("order.created", WebhookEvent.Status.PROCESSED)
    with tenant_scope(scope_a.merchant):
        order = Order.objects.get(merchant=scope_a.merchant)
        assert (order.external_id, order.status) == (str(body["id"]), OrderStatus.UNFULFILLED)
        assert StockLevel.objects.get(merchant=scope_a.merchant, product__sku="MUG-1").reserved == 2


def test_a_later_change_of_the_same_order_is_another_delivery(scope_a, store, woo_fake, client,
                                                               django_capture_on_commit_callbacks):
    body = _order_body(woo_fake, status="pending")
    created, created_headers = webhook_request(topic="order.created", body=body, secret=SECRET)
    woo_fake.store.set_order_status(body, "processing")
    paid, paid_headers = webhook_request(topic="order.updated", body=body, secret=SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        _post(client, store.integration, created, created_headers)
    with tenant_scope(scope_a.merchant):
        before = Order.objects.get(merchant=scope_a.merchant).status
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, store.integration, paid, paid_headers)

    with tenant_scope(scope_a.merchant):
        order = Order.objects.get(merchant=scope_a.merchant)
        reserved = StockLevel.objects.get(merchant=scope_a.merchant, product__sku="MUG-1").reserved
    assert (before, order.status, reserved) == (OrderStatus.AWAITING_PAYMENT, OrderStatus.UNFULFILLED, 2)
    assert len(_events(scope_a.merchant)) == 2


@pytest.mark.parametrize("signature", ["wrong", None])
def test_a_wrong_or_missing_signature_is_401_and_stores_nothing(scope_a, store, woo_fake, client, signature):
    raw, headers = webhook_request(topic="order.created", body=_order_body(woo_fake), secret="not-ours")
    if signature is None:
        del headers["X-WC-Webhook-Signature"]

    response = _post(client, store.integration, raw, headers)

    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
    assert _events(scope_a.merchant) == []
    with tenant_scope(scope_a.merchant):
        assert not Order.objects.filter(merchant=scope_a.merchant).exists()


def test_our_own_stock_echo_changes_nothing(scope_a, store, woo_fake, client, django_capture_on_commit_callbacks):
    mug = next(p for p in woo_fake.store.products.values() if p["sku"] == "MUG-1")
    with tenant_scope(scope_a.merchant):
        listing = Listing.objects.create(merchant=scope_a.merchant, integration=store.integration,
                                         external_id=str(mug["id"]), channel_ref=str(mug["id"]), sku="MUG-1",
                                         title=mug["name"], last_pushed_quantity=10, channel_quantity=10,
                                         channel_data={"type": "simple", "manage_stock": True})
    StoreState.apply_stock(mug, {"manage_stock": True, "stock_quantity": 10})
    raw, headers = webhook_request(topic="product.updated", body=mug, secret=SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, store.integration, raw, headers)

    [event] = _events(scope_a.merchant)
    with tenant_scope(scope_a.merchant):
        after = Listing.objects.get(pk=listing.pk)
    assert response.status_code == 200 and event.status == WebhookEvent.Status.PROCESSED
    assert event.result["quantities"] == {str(mug["id"]): "echo"}
    assert (after.last_pushed_quantity, after.channel_quantity, after.updated_at) == (10, 10, listing.updated_at)
    assert store.integration.checkpoints.get("drift_count") is None


def test_a_deleted_order_cancels_ours_and_gives_its_stock_back(scope_a, store, woo_fake, client,
                                                               django_capture_on_commit_callbacks):
    body = _order_body(woo_fake)
    created, created_headers = webhook_request(topic="order.created", body=body, secret=SECRET)
    deleted, deleted_headers = webhook_request(topic="order.deleted", body={"id": body["id"]}, secret=SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        _post(client, store.integration, created, created_headers)
        _post(client, store.integration, deleted, deleted_headers)

    with tenant_scope(scope_a.merchant):
        order = Order.objects.get(merchant=scope_a.merchant)
        reserved = StockLevel.objects.get(merchant=scope_a.merchant, product__sku="MUG-1").reserved
    assert (order.status, reserved) == (OrderStatus.CANCELLED, 0)


def test_an_order_body_sent_under_the_product_topic_changes_nothing(scope_a, store, woo_fake, client,
                                                                    django_capture_on_commit_callbacks):
    raw, headers = webhook_request(topic="product.updated", body=_order_body(woo_fake), secret=SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        _post(client, store.integration, raw, headers)

    [event] = _events(scope_a.merchant)
    assert event.status == WebhookEvent.Status.FAILED and "not a product.updated payload" in event.last_error
    with tenant_scope(scope_a.merchant):
        assert not Listing.objects.filter(merchant=scope_a.merchant).exists()


def test_every_recorded_order_payload_arrives_by_webhook(scope_a, store, client, django_capture_on_commit_callbacks):
    body = realworld("order_retrieve_wc-v3.json")
    raw, headers = webhook_request(topic="order.updated", body=body, secret=SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        _post(client, store.integration, raw, headers)

    [event] = _events(scope_a.merchant)
    assert event.status == WebhookEvent.Status.PROCESSED
    with tenant_scope(scope_a.merchant):
        assert Order.objects.get(merchant=scope_a.merchant).external_id == str(body["id"])


def test_on_hold_keeps_its_reservations_out_of_the_queue_and_processing_releases_it(
        scope_a, store, woo_fake, client, django_capture_on_commit_callbacks):
    body = _order_body(woo_fake, status="on-hold")
    held, held_headers = webhook_request(topic="order.created", body=body, secret=SECRET)
    woo_fake.store.set_order_status(body, "processing")
    paid, paid_headers = webhook_request(topic="order.updated", body=body, secret=SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        _post(client, store.integration, held, held_headers)
    with tenant_scope(scope_a.merchant):
        first = Order.objects.get(merchant=scope_a.merchant)
        reserved = StockLevel.objects.get(merchant=scope_a.merchant, product__sku="MUG-1").reserved
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, store.integration, paid, paid_headers)

    with tenant_scope(scope_a.merchant):
        order = Order.objects.get(merchant=scope_a.merchant)
    assert (first.status, first.hold_reason, reserved) == (OrderStatus.ON_HOLD, "Held on the channel", 2)
    assert (order.status, order.hold_reason) == (OrderStatus.UNFULFILLED, "")


def test_a_merchants_own_hold_is_not_released_by_the_channel(scope_a, store, woo_fake, client,
                                                            django_capture_on_commit_callbacks):
    body = _order_body(woo_fake)
    created, created_headers = webhook_request(topic="order.created", body=body, secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, store.integration, created, created_headers)
    with tenant_scope(scope_a.merchant):
        order_hold(merchant=scope_a.merchant, order=Order.objects.get(merchant=scope_a.merchant),
                   reason="Address check")
    woo_fake.store.touch(body)
    body["billing"] = {**body["billing"], "email": "ada.new@example.test"}  # a change ingest applies
    updated, updated_headers = webhook_request(topic="order.updated", body=body, secret=SECRET)

    with django_capture_on_commit_callbacks(execute=True):
        _post(client, store.integration, updated, updated_headers)

    with tenant_scope(scope_a.merchant):
        order = Order.objects.get(merchant=scope_a.merchant)
    assert (order.status, order.hold_reason, order.customer_email) == (
        OrderStatus.ON_HOLD, "Address check", "ada.new@example.test")
