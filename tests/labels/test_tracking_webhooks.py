"""EasyPost tracker events through the inbox (kind "carrier"): registered with our secret at an absolute
address, verified as the SDK's validate_webhook does, moving the shipment and emailing the customer once."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from accounts.tenancy import tenant_scope
from core.receivers import webhook_path
from labels.carriers.easypost.webhooks import signature_for
from labels.models import CarrierAccount
from notifications import services as notification_services
from orders.models import OrderEvent, Shipment
from tests.fakes.easypost.fixtures import EASYPOST_KEY
from tests.labels.helpers import pending_shipment
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
BASE = "https://hooks.example"


@pytest.fixture
def shipped(merchant_a, easypost_fake, settings):
    """An EasyPost account connected through the API (its webhook registered), a label bought."""
    settings.WEBHOOK_BASE_URL = BASE
    created = merchant_a.api.post("/api/v1/carrier-accounts/", {
        "carrier": "easypost", "name": "EP", "credentials": {"api_key": EASYPOST_KEY}}, format="json").json()
    shipment = pending_shipment(merchant_a.merchant)
    with tenant_scope(merchant_a.merchant):
        notification_services.notification_settings_update(merchant=merchant_a.merchant, notify_customer_shipped=True,
                                                           new_order_mode="off")
        account = CarrierAccount.objects.get(pk=created["id"])
        path = webhook_path(kind="carrier", owner=account)
    body = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json").json()
    mail.outbox.clear()
    return merchant_a, account, shipment, path, body["tracking_number"]


def event(tracking: str, status: str, updated_at: str = "2026-12-07T10:00:00Z") -> bytes:
    return json.dumps({"object": "Event", "id": f"evt_{status}", "description": "tracker.updated", "mode": "test",
                       "result": {"object": "Tracker", "id": "trk_1", "tracking_code": tracking, "status": status,
                                  "updated_at": updated_at, "carrier": "USPS",
                                  "tracking_details": [{"message": "Out for delivery, Springfield OR",
                                                        "status": status}]}}).encode()


def test_the_webhook_is_registered_at_our_absolute_address_with_the_accounts_secret(shipped, easypost_fake):
    tenant, account, shipment, path, tracking = shipped

    assert [(h["url"], h["webhook_secret"]) for h in easypost_fake.webhooks.values()] == [
        (BASE + path, account.webhook_secret)]
    assert path.startswith("/webhooks/easypost/")


def test_a_bad_or_missing_signature_is_401_and_stores_nothing(shipped, client):
    tenant, account, shipment, path, tracking = shipped
    raw = event(tracking, "delivered")

    wrong = client.post(path, data=raw, content_type="application/json",
                        HTTP_X_HMAC_SIGNATURE=signature_for(raw, "not-the-secret"))
    missing = client.post(path, data=raw, content_type="application/json")

    assert (wrong.status_code, missing.status_code) == (401, 401)
    with tenant_scope(tenant.merchant):
        assert WebhookEvent.objects.count() == 0
        assert Shipment.objects.get(pk=shipment.pk).tracking_status == ""
    assert mail.outbox == []


def test_a_good_event_moves_the_shipment_and_sends_one_email(shipped, client, django_capture_on_commit_callbacks):
    tenant, account, shipment, path, tracking = shipped
    raw = event(tracking, "out_for_delivery")

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(path, data=raw, content_type="application/json",
                            HTTP_X_HMAC_SIGNATURE=signature_for(raw, account.webhook_secret))
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(path, data=raw, content_type="application/json",
                            HTTP_X_HMAC_SIGNATURE=signature_for(raw, account.webhook_secret))

    assert (first.status_code, again.status_code) == (200, 200)
    with tenant_scope(tenant.merchant):
        row = Shipment.objects.get(pk=shipment.pk)
        [stored] = WebhookEvent.objects.all()
        history = list(OrderEvent.objects.filter(kind="tracking").values_list("message", flat=True))
    assert (stored.kind, stored.channel, stored.status) == ("carrier", "easypost", "processed")
    assert row.tracking_status == "out_for_delivery"
    assert history == [f"Shipment {shipment.pk}: Out for delivery (Out for delivery, Springfield OR)"]
    assert [m.subject for m in mail.outbox] == ["Your order #1001: out for delivery"]
    assert mail.outbox[0].to == ["ada@example.com"]
    api = tenant.api.get(f"/api/v1/shipments/{shipment.pk}/").json()
    assert api["tracking_status"] == "out_for_delivery"


def test_an_older_event_after_a_newer_one_changes_nothing(shipped, client, django_capture_on_commit_callbacks):
    tenant, account, shipment, path, tracking = shipped
    newer = event(tracking, "delivered", "2026-12-07T12:00:00Z")
    older = event(tracking, "in_transit", "2026-12-07T08:00:00Z")

    for raw in (newer, older):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(path, data=raw, content_type="application/json",
                               HTTP_X_HMAC_SIGNATURE=signature_for(raw, account.webhook_secret)).status_code == 200

    with tenant_scope(tenant.merchant):
        assert Shipment.objects.get(pk=shipment.pk).tracking_status == "delivered"
    assert [m.subject for m in mail.outbox] == ["Your order #1001: delivered"]
