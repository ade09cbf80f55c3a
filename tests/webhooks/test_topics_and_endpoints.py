"""The topic is not signed, so each topic's handler checks its body (§1.2); a disconnected store still takes
its compliance topics (§3.7); endpoints own the tokens, any source's deliveries can be stored once verified
elsewhere (`webhook_store`), and the URLs Shopify already holds keep working."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope, unscoped
from core.receivers import Delivery
from integrations.models import Integration
from orders.models import Order
from tests.fakes.shopify.webhooks import webhook_request
from tests.integrations.helpers import make_integration
from tests.webhooks.conftest import SECRET, SHOP, deliver, order_body, raw_json, token_of, url_for
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.services import webhook_store

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status


def _last(merchant) -> WebhookEvent:
    with tenant_scope(merchant):
        return WebhookEvent.objects.filter(merchant=merchant).order_by("-id")[0]


def _store_row(store) -> Integration:
    with unscoped("test read"):
        return Integration.objects.get(pk=store.pk)


def _orders(merchant) -> list[tuple[str, str]]:
    with tenant_scope(merchant):
        return list(Order.objects.order_by("external_id").values_list("external_id", "customer_email"))


@pytest.fixture
def two_orders(merchant_a, shop_a, run_on_commit, client):
    run_on_commit(client, shop_a, "orders/create", order_body(5566778899))
    run_on_commit(client, shop_a, "orders/create", {**order_body(6000, name="#1043"), "email": "bob@example.test",
                                                     "customer": {"email": "bob@example.test"}})
    assert _orders(merchant_a.merchant) == [("5566778899", "ada@example.test"), ("6000", "bob@example.test")]


# ---------------------------------------------------------------- §1.2: the body must be the topic's


@pytest.mark.parametrize("topic", ["shop/redact", "app/uninstalled", "customers/redact", "customers/data_request"])
def test_a_signed_order_body_resent_under_a_shop_level_topic_changes_nothing(
        merchant_a, shop_a, two_orders, run_on_commit, client, topic):
    # Given a store with two orders, and one of its genuine signed order bodies captured
    merchant = merchant_a.merchant

    # When the same signed bytes are sent again with a shop-level topic
    response = run_on_commit(client, shop_a, topic, order_body(5566778899))

    # Then the delivery is acknowledged and stored failed with the reason, and nothing changed
    assert response.status_code == 200
    event = _last(merchant)
    assert (event.topic, event.status, event.result) == (topic, Status.FAILED, {})
    assert event.last_error.startswith(f"not a {topic} payload: ")
    assert event.next_attempt_at is None  # never retried
    assert _orders(merchant) == [("5566778899", "ada@example.test"), ("6000", "bob@example.test")]
    row = _store_row(shop_a)
    assert (row.status, row.credentials["access_token"]) == (Integration.Status.ACTIVE, "shpat_test_token")


def test_a_customers_redact_body_resent_as_shop_redact_redacts_no_one(merchant_a, shop_a, two_orders, run_on_commit,
                                                                      client):
    body = {"shop_id": 9001, "shop_domain": SHOP, "customer": {"id": 4242, "email": "ada@example.test"},
            "orders_to_redact": [5566778899]}

    run_on_commit(client, shop_a, "shop/redact", body)

    event = _last(merchant_a.merchant)
    assert (event.status, event.last_error) == (Status.FAILED, "not a shop/redact payload: it carries 'customer', "
                                                               "'orders_to_redact'")
    assert _orders(merchant_a.merchant) == [("5566778899", "ada@example.test"), ("6000", "bob@example.test")]


@pytest.mark.parametrize(("topic", "body", "reason"), [
    ("shop/redact", {"shop_id": 9001, "shop_domain": "other-shop.myshopify.com"},
     "shop/redact names shop 'other-shop.myshopify.com', not this store's"),
    ("app/uninstalled", {"id": 9001, "myshopify_domain": "other-shop.myshopify.com"},
     "app/uninstalled names shop 'other-shop.myshopify.com', not this store's"),
    ("customers/redact", {"shop_id": 9001, "shop_domain": "other-shop.myshopify.com", "customer": {"email": "a@b.c"},
                          "orders_to_redact": []},
     "customers/redact names shop 'other-shop.myshopify.com', not this store's"),
])
def test_a_shop_level_topic_naming_another_shop_is_refused(merchant_a, shop_a, two_orders, run_on_commit, client,
                                                            topic, body, reason):
    run_on_commit(client, shop_a, topic, body)

    event = _last(merchant_a.merchant)
    assert (event.status, event.last_error) == (Status.FAILED, reason)
    assert _orders(merchant_a.merchant) == [("5566778899", "ada@example.test"), ("6000", "bob@example.test")]
    assert _store_row(shop_a).status == Integration.Status.ACTIVE


def test_a_known_shop_id_must_match_too(merchant_a, shop_a, two_orders, run_on_commit, client):
    with unscoped("test: the store's shop id is known"):
        Integration.objects.filter(pk=shop_a.pk).update(settings={"backfill_days": 60, "shop_id": 9001})

    run_on_commit(client, shop_a, "shop/redact", {"shop_id": 9002, "shop_domain": SHOP})

    assert _last(merchant_a.merchant).last_error == "shop/redact names shop id 9002, not this store's"
    assert _orders(merchant_a.merchant) == [("5566778899", "ada@example.test"), ("6000", "bob@example.test")]


@pytest.mark.parametrize(("topic", "body", "reason"), [
    ("products/update", order_body(), "not a products/update payload: 'variants' is missing or malformed"),
    ("inventory_levels/update", order_body(), "not a inventory_levels/update payload: 'inventory_item_id' is "
                                              "missing or malformed"),
    ("orders/updated", {"id": 632910392, "title": "Mug", "variants": [{"id": 1, "sku": "MUG"}]},
     "not a orders/updated payload: it has none of 'line_items', 'order_number', 'financial_status', 'total_price'"),
])
def test_any_topic_refuses_another_topics_body(merchant_a, shop_a, run_on_commit, client, topic, body, reason):
    run_on_commit(client, shop_a, topic, body)

    event = _last(merchant_a.merchant)
    assert (event.status, event.last_error) == (Status.FAILED, reason)
    with tenant_scope(merchant_a.merchant):
        assert not Order.objects.exists()


# ---------------------------------------------------------------- §3.7: compliance after an uninstall


@pytest.fixture
def oauth_store(merchant_a, settings):
    """A store installed through our app: its deliveries are signed with our app's secret."""
    settings.SHOPIFY_CLIENT_SECRET = "app_secret"
    with tenant_scope(merchant_a.merchant):
        store = make_integration(merchant_a.merchant, name="OAuth shop",
                                 credentials={"shop_domain": SHOP, "access_token": "shpat_oauth"})
    url_for(store)
    return store


def test_shop_redact_48_hours_after_an_uninstall_is_accepted_and_acted_on(merchant_a, oauth_store, run_on_commit,
                                                                          client):
    # Given an installed store with an order, then uninstalled
    merchant = merchant_a.merchant
    run_on_commit(client, oauth_store, "orders/create", order_body(5566778899), secret="app_secret")
    uninstall = run_on_commit(client, oauth_store, "app/uninstalled", {"id": 9001, "myshopify_domain": SHOP},
                              secret="app_secret")
    assert uninstall.status_code == 200
    assert _store_row(oauth_store).status == Integration.Status.DISCONNECTED

    # When the compliance topics arrive later, signed with our app's secret
    customer = {"id": 4242, "email": "ada@example.test"}
    data_request = run_on_commit(client, oauth_store, "customers/data_request",
                                 {"shop_id": 9001, "shop_domain": SHOP, "customer": customer,
                                  "orders_requested": [5566778899], "data_request": {"id": 77}}, secret="app_secret")
    found = _last(merchant)
    redact = run_on_commit(client, oauth_store, "shop/redact", {"shop_id": 9001, "shop_domain": SHOP},
                           secret="app_secret")

    # Then both are stored and processed: the shop's orders are redacted
    assert (data_request.status_code, redact.status_code) == (200, 200)
    assert (found.status, found.result["action"]) == (Status.PROCESSED, "data-request")
    event = _last(merchant)
    assert (event.topic, event.status) == ("shop/redact", Status.PROCESSED)
    with tenant_scope(merchant):
        order = Order.objects.get()
    assert event.result == {"action": "shop-redacted", "order_ids": [order.pk]}
    assert (order.customer_email, order.shipping_address) == ("", {})


def test_a_disconnected_store_refuses_every_other_topic_and_any_unsigned_compliance_topic(
        merchant_a, oauth_store, run_on_commit, client):
    run_on_commit(client, oauth_store, "app/uninstalled", {"id": 9001, "myshopify_domain": SHOP}, secret="app_secret")

    refused = [
        deliver(client, oauth_store, "orders/create", order_body(), secret="app_secret"),
        deliver(client, oauth_store, "products/update", {"id": 1, "variants": []}, secret="app_secret"),
        deliver(client, oauth_store, "app/uninstalled", {"id": 9001, "myshopify_domain": SHOP}, secret="app_secret"),
        deliver(client, oauth_store, "shop/redact", {"shop_id": 9001, "shop_domain": SHOP}, secret="not-our-secret"),
        deliver(client, oauth_store, "shop/redact", {"shop_id": 9001, "shop_domain": SHOP}, secret="app_secret",
                drop=("X-Shopify-Hmac-Sha256",)),
    ]

    assert [r.status_code for r in refused] == [401, 401, 401, 401, 401]
    with tenant_scope(merchant_a.merchant):
        assert list(WebhookEvent.objects.values_list("topic", flat=True)) == ["app/uninstalled"]


# ---------------------------------------------------------------- endpoints


def test_the_endpoint_owns_the_token_and_the_kind_names_it_as_well_as_the_slug(merchant_a, shop_a, client):
    # Given the store's endpoint
    with tenant_scope(merchant_a.merchant):
        endpoint = WebhookEndpoint.objects.get(integration=shop_a)
    assert (endpoint.kind, endpoint.slug, endpoint.token) == ("channel", "shopify", token_of(shop_a))
    assert url_for(shop_a) == f"/webhooks/shopify/{endpoint.token}/"

    # When a delivery names the endpoint by its kind
    raw, headers = webhook_request(topic="orders/create", body=order_body(), secret=SECRET, shop_domain=SHOP)
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"}
    response = client.post(f"/webhooks/channel/{endpoint.token}/", data=raw, content_type="application/json", **meta)

    # Then it is stored against that endpoint
    assert response.status_code == 200
    event = _last(merchant_a.merchant)
    assert (event.endpoint_id, event.integration_id, event.kind, event.channel) == (
        endpoint.pk, shop_a.pk, "channel", "shopify")


def test_webhook_store_takes_a_delivery_verified_elsewhere_once(merchant_a, shop_a, django_capture_on_commit_callbacks):
    # Given a delivery a poller read from a queue it trusts
    with tenant_scope(merchant_a.merchant):
        endpoint = WebhookEndpoint.objects.get(integration=shop_a)
    delivery = Delivery(topic="orders/create", delivery_id="orders/create:sqs-1",
                        headers={"X-Shopify-Topic": "orders/create"})

    # When it is stored, twice (the queue redelivered it)
    with django_capture_on_commit_callbacks(execute=True):
        first = webhook_store(endpoint=endpoint, delivery=delivery, body=raw_json(order_body()))
    again = webhook_store(endpoint=endpoint, delivery=delivery, body=raw_json(order_body()))

    # Then one event, processed like any delivery: the order exists
    assert (first.status, first.code, again.code, again.event_id) == (200, "stored", "duplicate", first.event_id)
    event = _last(merchant_a.merchant)
    assert (event.pk, event.status, event.result["action"]) == (first.event_id, Status.PROCESSED, "created")
    with tenant_scope(merchant_a.merchant):
        assert list(Order.objects.values_list("external_id", flat=True)) == ["5566778899"]


def test_a_store_has_one_endpoint_however_often_its_path_is_asked(merchant_a):
    with tenant_scope(merchant_a.merchant):
        store = make_integration(merchant_a.merchant, name="Fresh")
        paths = {url_for(store), url_for(Integration.objects.get(pk=store.pk))}
        assert WebhookEndpoint.objects.filter(integration=store).count() == 1
    assert len(paths) == 1
