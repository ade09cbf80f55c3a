"""The endpoint: verified over the raw body before anything is parsed, stored before it is acknowledged,
one row per delivery however often and however concurrently it arrives."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import timedelta

import pytest
import requests
from django.db import close_old_connections, connection
from django.utils import timezone

from accounts.tenancy import tenant_scope, unscoped
from core.receivers import Delivery, WebhookReceiver, hmac_base64_matches, webhook_receivers
from integrations.models import Integration
from integrations.services import integration_disconnect, integration_update
from orders.models import Order, OrderEvent
from tests.fakes.shopify.webhooks import webhook_request
from tests.webhooks.conftest import (
    SECRET,
    SHOP,
    deliver,
    new_event_id,
    order_body,
    raw_json,
    token_of,
    url_for,
)
from webhooks.models import WebhookEvent
from webhooks.services import rejected_count

pytestmark = pytest.mark.django_db


def _events(merchant):
    with tenant_scope(merchant):
        return list(WebhookEvent.objects.filter(merchant=merchant).order_by("id"))


def _refused(response) -> None:
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# ---------------------------------------------------------------- signatures


def test_a_signed_delivery_is_stored_with_its_identity_and_chosen_headers(merchant_a, shop_a, client):
    event_id = new_event_id()
    response = deliver(client, shop_a, "orders/create", order_body(), event_id=event_id)

    assert response.status_code == 200
    [event] = _events(merchant_a.merchant)
    assert (event.integration_id, event.channel, event.topic, event.delivery_id) == (
        shop_a.pk, "shopify", "orders/create", f"orders/create:{event_id}")
    assert event.status == WebhookEvent.Status.RECEIVED  # the enqueue runs after a commit this test never makes
    assert event.next_attempt_at > timezone.now()  # the dispatcher's safety net if that enqueue is lost
    assert bytes(event.body) == raw_json(order_body())
    assert event.headers["X-Shopify-Shop-Domain"] == SHOP
    assert not any("hmac" in name.lower() for name in event.headers)  # never the signature


def test_missing_signature_is_refused_counted_and_nothing_stored(merchant_a, shop_a, client):
    before = rejected_count("shopify", "signature_missing")
    response = deliver(client, shop_a, "orders/create", order_body(), drop=("X-Shopify-Hmac-Sha256",))

    _refused(response)
    assert _events(merchant_a.merchant) == []
    assert rejected_count("shopify", "signature_missing") == before + 1


def test_a_signature_made_with_another_secret_is_refused(merchant_a, shop_a, client):
    before = rejected_count("shopify", "signature_invalid")
    _refused(deliver(client, shop_a, "orders/create", order_body(), secret="shpss_someone_else"))
    assert _events(merchant_a.merchant) == []
    assert rejected_count("shopify", "signature_invalid") == before + 1


def test_a_body_changed_after_signing_is_refused(merchant_a, shop_a, client):
    response = deliver(client, shop_a, "orders/create", order_body(),
                       tamper=lambda raw: raw.replace(b'"quantity": 2', b'"quantity": 9'))
    _refused(response)
    assert _events(merchant_a.merchant) == []


def test_the_previous_secret_is_accepted_for_an_hour_after_a_rotation(merchant_a, shop_a, client):
    merchant = merchant_a.merchant
    with tenant_scope(merchant):
        integration_update(merchant=merchant, actor=None, integration=shop_a,
                           credentials={"shop_domain": SHOP, "access_token": "shpat_x", "client_secret": "shpss_new"})
    assert deliver(client, shop_a, "orders/create", order_body(1), secret=SECRET).status_code == 200
    assert deliver(client, shop_a, "orders/create", order_body(2), secret="shpss_new").status_code == 200

    with unscoped("test: the rotation was an hour and a minute ago"):
        row = Integration.objects.get(pk=shop_a.pk)
        rotated = timezone.now() - timedelta(hours=1, minutes=1)
        row.credentials = {**row.credentials, "client_secret_rotated_at": rotated.isoformat()}
        row.save(update_fields=["credentials"])
    _refused(deliver(client, shop_a, "orders/create", order_body(3), secret=SECRET))
    assert deliver(client, shop_a, "orders/create", order_body(4), secret="shpss_new").status_code == 200
    assert len(_events(merchant)) == 3


def test_our_apps_secret_signs_oauth_installs_and_its_rotation_has_the_same_hour(merchant_a, client, settings):
    settings.SHOPIFY_CLIENT_SECRET = "app_secret_new"
    settings.SHOPIFY_CLIENT_SECRET_PREVIOUS = "app_secret_old"
    settings.SHOPIFY_CLIENT_SECRET_ROTATED_AT = (timezone.now() - timedelta(minutes=30)).isoformat()
    with tenant_scope(merchant_a.merchant):
        oauth = Integration.objects.create(merchant=merchant_a.merchant, channel="shopify", name="OAuth shop",
                                           credentials={"shop_domain": SHOP, "access_token": "shpua_x"})
    assert deliver(client, oauth, "orders/create", order_body(1), secret="app_secret_new").status_code == 200
    assert deliver(client, oauth, "orders/create", order_body(2), secret="app_secret_old").status_code == 200
    settings.SHOPIFY_CLIENT_SECRET_ROTATED_AT = (timezone.now() - timedelta(minutes=61)).isoformat()
    _refused(deliver(client, oauth, "orders/create", order_body(3), secret="app_secret_old"))
    # Our app's secret is every shop's: a delivery for another shop is not this store's.
    _refused(deliver(client, oauth, "orders/create", order_body(4), secret="app_secret_new",
                     shop="other.myshopify.com"))


def test_unknown_token_unknown_channel_and_disconnected_store_are_refused(merchant_a, shop_a, client):
    raw, headers = webhook_request(topic="orders/create", body=order_body(), secret=SECRET, shop_domain=SHOP)
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items() if k != "Content-Type"}
    _refused(client.post("/webhooks/shopify/not-a-token/", data=raw, content_type="application/json", **meta))
    _refused(client.post(f"/webhooks/amazon/{token_of(shop_a)}/", data=raw, content_type="application/json",
                         **meta))
    _refused(client.post(f"/webhooks/nosuch/{token_of(shop_a)}/", data=raw, content_type="application/json",
                         **meta))
    _refused(client.post(f"/webhooks/carrier/{token_of(shop_a)}/", data=raw, content_type="application/json",
                         **meta))
    with tenant_scope(merchant_a.merchant):
        integration_disconnect(merchant=merchant_a.merchant, actor=None, integration=shop_a)
    _refused(deliver(client, shop_a, "orders/create", order_body()))
    assert _events(merchant_a.merchant) == []


def test_a_new_secret_a_disconnect_and_an_inactive_merchant_count_from_the_very_next_delivery(
        merchant_a, shop_a, client):
    """Receipt remembers a store's endpoint, but its INSERT stores the row only if the store's row still holds what
    the verdict rested on (anything else is decided again from a fresh read): nothing learned from earlier
    deliveries outlives a change to the store."""
    merchant = merchant_a.merchant
    for n in range(3):  # warm every per-process cache with the old secret
        assert deliver(client, shop_a, "orders/create", order_body(n), secret=SECRET).status_code == 200
    with unscoped("test: the secret is replaced outright, no grace hour"):
        row = Integration.objects.get(pk=shop_a.pk)
        row.credentials = {"shop_domain": SHOP, "access_token": "shpat_x", "client_secret": "shpss_replaced"}
        row.save(update_fields=["credentials"])
    _refused(deliver(client, shop_a, "orders/create", order_body(10), secret=SECRET))
    assert deliver(client, shop_a, "orders/create", order_body(11), secret="shpss_replaced").status_code == 200

    merchant.is_active = False
    merchant.save(update_fields=["is_active"])
    _refused(deliver(client, shop_a, "orders/create", order_body(12), secret="shpss_replaced"))
    merchant.is_active = True
    merchant.save(update_fields=["is_active"])
    with tenant_scope(merchant):
        integration_disconnect(merchant=merchant, actor=None, integration=shop_a)
    _refused(deliver(client, shop_a, "orders/create", order_body(13), secret="shpss_replaced"))
    assert len(_events(merchant)) == 4


def test_a_remembered_store_costs_one_statement_and_a_duplicate_is_still_answered_as_one(
        merchant_a, shop_a, client, settings):
    """After the first delivery (which reads the store), the next ones are verified against what this process
    remembers and stored by one INSERT that checks that memory in the database; one it stores nothing for (a
    duplicate) is decided from a fresh read, as before."""
    from django.test.utils import CaptureQueriesContext

    settings.WEBHOOK_DISPATCH = "dispatcher"  # nothing processed in the request: its statements are receipt's
    assert deliver(client, shop_a, "orders/create", order_body(1)).status_code == 200
    event_id = new_event_id()
    with CaptureQueriesContext(connection) as queries:
        stored = deliver(client, shop_a, "orders/create", order_body(2), event_id=event_id)
    assert (stored.status_code, stored.json()["status"]) == (200, "stored")
    assert len(queries) == 1 and queries[0]["sql"].startswith("INSERT INTO")
    again = deliver(client, shop_a, "orders/create", order_body(2), event_id=event_id)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert len(_events(merchant_a.merchant)) == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_row_is_one_autocommitted_insert_and_the_enqueue_follows_it(
        merchant_a, shop_a, client, monkeypatch):
    """No BEGIN/COMMIT around the single INSERT (one round trip): the row is committed when the INSERT
    returns, so the task is sent straight after it and another session already sees the row. A duplicate
    is refused by the unique constraint without leaving the connection in an aborted transaction."""
    import psycopg

    from webhooks import services

    params = connection.get_connection_params()
    dsn = {k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")}
    seen_by_another_session: list[int] = []

    def enqueue(event):
        with psycopg.connect(**dsn) as other:
            seen_by_another_session.append(other.execute(
                f"SELECT count(*) FROM {WebhookEvent._meta.db_table} WHERE id = %s", [event.pk]).fetchone()[0])

    commits = []
    real_commit = connection.commit
    monkeypatch.setattr(connection, "commit", lambda: commits.append(1) or real_commit())
    monkeypatch.setattr(services, "webhook_event_enqueue", enqueue)
    event_id = new_event_id()
    first = deliver(client, shop_a, "orders/create", order_body(), event_id=event_id)
    again = deliver(client, shop_a, "orders/create", order_body(), event_id=event_id)

    assert (first.status_code, first.json()["status"]) == (200, "stored")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert seen_by_another_session == [1]  # committed before the enqueue; the duplicate enqueued nothing
    assert commits == []  # autocommit: no transaction was opened and committed around the INSERT
    assert len(_events(merchant_a.merchant)) == 1  # and the connection is still usable


def test_only_post_is_answered_and_no_login_or_csrf_is_asked(shop_a, client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert deliver(strict, shop_a, "orders/create", order_body()).status_code == 200


@pytest.mark.parametrize("method", ["get", "head", "put", "patch", "delete"])
def test_any_other_method_is_a_405_in_the_error_shape_with_allow(merchant_a, shop_a, client, method):
    # Given: a store's inbox address. When: anything but a POST reaches it
    response = getattr(client, method)(url_for(shop_a))
    # Then: 405 with Allow: POST, in the project's error shape (a HEAD has no body), and nothing stored
    assert (response.status_code, response["Allow"], response["Content-Type"]) == (405, "POST", "application/json")
    if method != "head":
        assert response.json()["error"]["code"] == "method_not_allowed"
        assert set(response.json()["error"]) == {"code", "message", "details"}
    assert _events(merchant_a.merchant) == []


# ---------------------------------------------------------------- size, JSON


def test_a_body_over_two_megabytes_is_413_and_nothing_is_stored(merchant_a, shop_a, client):
    big = {"id": 1, "padding": "x" * (2 * 1024 * 1024)}
    response = deliver(client, shop_a, "orders/create", big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert _events(merchant_a.merchant) == []


def test_verified_but_unparseable_json_is_acknowledged_stored_and_failed_by_its_first_attempt_with_the_reason(
        merchant_a, shop_a, run_on_commit, client):
    # Receipt stores the body unparsed; the first processing attempt refuses it for good (PermanentFailure).
    response = run_on_commit(client, shop_a, "orders/create", b"{\"id\": 1, \"name\": ")
    assert (response.status_code, response.json()) == (200, {"ok": True, "status": "stored"})
    [event] = _events(merchant_a.merchant)
    assert event.status == WebhookEvent.Status.FAILED
    assert "not valid JSON" in event.last_error
    assert event.next_attempt_at is None  # a retry would not fix it: the dispatcher leaves it alone
    assert event.attempts == 1
    assert bytes(event.body) == b"{\"id\": 1, \"name\": "  # kept as signed, for a person to look at
    with tenant_scope(merchant_a.merchant):
        assert not Order.objects.exists()


def test_a_validly_signed_body_nested_past_the_parser_is_stored_failed_and_acknowledged(
        merchant_a, shop_a, run_on_commit, client):
    # Given: a signed body of 100,000 nested arrays (json.loads raises RecursionError on it)
    body = b"[" * 100_000 + b"]" * 100_000
    # When: it is delivered
    response = run_on_commit(client, shop_a, "orders/create", body)
    # Then: 200, like any unparseable body, and its first attempt fails it with the reason, never retried
    assert response.status_code == 200
    [event] = _events(merchant_a.merchant)
    assert (event.status, event.last_error, event.next_attempt_at, event.attempts) == (
        WebhookEvent.Status.FAILED, "The body is not valid JSON: nested too deeply to parse.", None, 1)
    with tenant_scope(merchant_a.merchant):
        assert not Order.objects.exists()


# ---------------------------------------------------------------- duplicates


def test_one_event_sent_ten_times_is_one_row_processed_once(merchant_a, shop_a, run_on_commit, client):
    event_id = new_event_id()
    answers = [run_on_commit(client, shop_a, "orders/create", order_body(), event_id=event_id).status_code
               for _ in range(10)]

    assert answers == [200] * 10
    [event] = _events(merchant_a.merchant)
    assert event.status == WebhookEvent.Status.PROCESSED and event.attempts == 1
    with tenant_scope(merchant_a.merchant):
        assert Order.objects.count() == 1
        assert OrderEvent.objects.filter(kind=OrderEvent.Kind.RECEIVED).count() == 1


def test_without_an_event_id_the_webhook_id_identifies_the_delivery(merchant_a, shop_a, client):
    for _ in range(3):
        deliver(client, shop_a, "orders/create", order_body(), webhook_id="wh-1", drop=("X-Shopify-Event-Id",))
    [event] = _events(merchant_a.merchant)
    assert event.delivery_id == "orders/create:wh-1"


def test_one_event_firing_two_topics_is_two_deliveries(merchant_a, shop_a, client):
    """Shopify's de-duplication key is (topic, event id): an order created and paid at once is both."""
    event_id = new_event_id()
    deliver(client, shop_a, "orders/create", order_body(), event_id=event_id)
    deliver(client, shop_a, "orders/paid", order_body(), event_id=event_id)
    deliver(client, shop_a, "orders/paid", order_body(), event_id=event_id)
    assert [e.topic for e in _events(merchant_a.merchant)] == ["orders/create", "orders/paid"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_event_sent_twenty_times_at_once_is_one_row_processed_once(merchant_a, shop_a, live_server):
    raw, headers = webhook_request(topic="orders/create", body=order_body(), secret=SECRET, shop_domain=SHOP,
                                   event_id=new_event_id())
    start = threading.Barrier(20)
    answers: list[int] = []

    def send():
        start.wait()
        answers.append(requests.post(live_server.url + url_for(shop_a), data=raw, headers=headers, timeout=30)
                       .status_code)

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [200] * 20
    [event] = _events(merchant_a.merchant)
    assert event.status == WebhookEvent.Status.PROCESSED and event.attempts == 1
    with tenant_scope(merchant_a.merchant):
        assert Order.objects.count() == 1
        assert OrderEvent.objects.filter(kind=OrderEvent.Kind.RECEIVED).count() == 1


# ---------------------------------------------------------------- database down


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_down_during_receipt_is_503_and_nothing_is_acknowledged(merchant_a, shop_a, client, monkeypatch):
    """The request's own database session is terminated (from another session) after the token was
    looked up and the signature checked, and the database cannot be reached any more, so the INSERT itself
    fails and so does its one retry on a new connection: 503, and no row exists after."""
    import psycopg

    from integrations.channels.shopify import webhooks as shopify_webhooks

    params = connection.get_connection_params()
    admin_dsn = {k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")}
    receiver = webhook_receivers.get("channel:shopify")
    port = connection.settings_dict["PORT"]

    def verify_then_lose_the_database(integration, headers, body, now):
        ok = shopify_webhooks.verify(integration, headers, body, now)
        pid = connection.connection.info.backend_pid
        with psycopg.connect(**admin_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        connection.settings_dict["PORT"] = "1"  # nothing listens there: a new connection fails too
        return ok

    broken = WebhookReceiver(**{**receiver.__dict__, "verify": verify_then_lose_the_database})
    try:
        with webhook_receivers.registered("channel:shopify", broken):
            response = deliver(client, shop_a, "orders/create", order_body())
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_stored"
    connection.close()
    assert _events(merchant_a.merchant) == []
    assert deliver(client, shop_a, "orders/create", order_body()).status_code == 200  # the retry is stored


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("remembered", [False, True])
def test_a_connection_the_server_dropped_while_idle_is_replaced_and_the_delivery_stored_once(
        merchant_a, shop_a, client, remembered):
    """Receipt's INSERT runs without Django's per-request health check (`SELECT 1`): the INSERT is the check. A
    connection the server dropped between two deliveries (a restart, an idle timeout) fails it, and the INSERT
    runs again on a new connection, as the health check would have reconnected: 200, one row."""
    import psycopg

    params = connection.get_connection_params()
    admin_dsn = {k: v for k, v in params.items() if k in ("host", "port", "user", "password", "dbname")}
    # Given: an open connection; with `remembered`, the store's endpoint known from an earlier delivery (the
    # INSERT is then the request's first statement)
    if remembered:
        assert deliver(client, shop_a, "orders/create", order_body()).status_code == 200
    else:
        connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    # When: the server ends that session while it is idle, and a delivery comes
    with psycopg.connect(**admin_dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    close_old_connections()  # what each request starts with under a server (the test client skips it)
    event_id = new_event_id()
    response = deliver(client, shop_a, "orders/create", order_body(order_id=9), event_id=event_id)
    # Then: stored on a new session, once
    assert (response.status_code, response.json()["status"]) == (200, "stored")
    assert connection.connection.info.backend_pid != pid
    assert [e.delivery_id for e in _events(merchant_a.merchant)][-1:] == [f"orders/create:{event_id}"]
    with tenant_scope(merchant_a.merchant):
        assert WebhookEvent.objects.filter(delivery_id=f"orders/create:{event_id}").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_unreachable_is_503(shop_a, client):
    connection.close()
    port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        response = deliver(client, shop_a, "orders/create", order_body())
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert response.status_code == 503


# ---------------------------------------------------------------- tenants


def test_a_merchants_token_never_writes_into_another_merchant(merchant_a, merchant_b, shop_a, shop_b,
                                                               run_on_commit, client):
    # B's secret on A's URL: refused (the URL decides the store, and its secret must sign).
    _refused(deliver(client, shop_a, "orders/create", order_body(), secret="shpss_b_secret",
                     shop="b-shop.myshopify.com"))
    assert run_on_commit(client, shop_a, "orders/create", order_body()).status_code == 200

    [event] = _events(merchant_a.merchant)
    assert event.merchant_id == merchant_a.merchant.pk
    assert _events(merchant_b.merchant) == []
    with tenant_scope(merchant_b.merchant):
        assert not Order.objects.exists()
        assert not WebhookEvent.objects.exists()  # B's scope sees none of A's events
    with tenant_scope(merchant_a.merchant):
        assert Order.objects.get().merchant_id == merchant_a.merchant.pk


# ---------------------------------------------------------------- another channel plugs in


def test_a_new_channel_plugs_in_a_receiver_without_touching_the_inbox(merchant_a, client,
                                                                      django_capture_on_commit_callbacks):
    """WooCommerce's shape (reference §2.8): an unsigned form-encoded ping answered 200 and not stored,
    X-WC-Webhook-Signature over the raw body with the store's own secret, X-WC-Webhook-Delivery-ID."""
    handled = []
    receiver = WebhookReceiver(
        kind="channel", slug="woocommerce", signature_header="X-WC-Webhook-Signature",
        verify=lambda integration, headers, body, now: hmac_base64_matches(
            body, headers.get("X-WC-Webhook-Signature"), [integration.credentials["webhook_secret"]]),
        identify=lambda headers, body: Delivery(topic=headers.get("X-WC-Webhook-Topic", ""),
                                                delivery_id=headers.get("X-WC-Webhook-Delivery-ID", ""),
                                                headers={"X-WC-Webhook-Topic": headers.get("X-WC-Webhook-Topic", "")}),
        handlers={"order.updated": lambda **kw: handled.append(kw["payload"]) or {"action": "seen"}},
        is_handshake=lambda headers, body: body.startswith(b"webhook_id=") and "X-WC-Webhook-Signature" not in headers,
    )
    with tenant_scope(merchant_a.merchant):
        store = Integration.objects.create(merchant=merchant_a.merchant, channel="woocommerce", name="Woo",
                                           credentials={"webhook_secret": "wc_secret"})
    with webhook_receivers.registered("channel:woocommerce", receiver):
        ping = client.post(url_for(store), data=b"webhook_id=12", content_type="application/x-www-form-urlencoded")
        raw = json.dumps({"id": 727}).encode()
        signature = base64.b64encode(hmac.new(b"wc_secret", raw, hashlib.sha256).digest()).decode()
        signed = {"HTTP_X_WC_WEBHOOK_TOPIC": "order.updated", "HTTP_X_WC_WEBHOOK_DELIVERY_ID": "d-1",
                  "HTTP_X_WC_WEBHOOK_SIGNATURE": signature}
        with django_capture_on_commit_callbacks(execute=True):
            stored = client.post(url_for(store), data=raw, content_type="application/json", **signed)
        unsigned = client.post(url_for(store), data=raw, content_type="application/json",
                               HTTP_X_WC_WEBHOOK_DELIVERY_ID="d-2")

    assert ping.status_code == 200 and ping.json()["status"] == "handshake"
    assert stored.status_code == 200
    _refused(unsigned)
    [event] = _events(merchant_a.merchant)
    assert (event.channel, event.topic, event.delivery_id) == ("woocommerce", "order.updated", "d-1")
    assert (event.status, event.result) == (WebhookEvent.Status.PROCESSED, {"action": "seen"})
    assert handled == [{"id": 727}]
