"""ShipStation tracking, polled (its labels have no tracking webhooks): shipments on their way are asked
about on the beat's schedule within a budget, their tracking_status moves, and the customer hears of it
by the same rules as EasyPost's tracker events (one e-mail per change, per the merchant's switches)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from accounts.tenancy import tenant_scope
from labels.models import Label
from labels.tasks import labels_tracking_poll_fanout
from notifications import services as notification_services
from orders.models import OrderEvent, Shipment
from tests.labels.helpers import pending_shipment, shipstation_account

pytestmark = pytest.mark.django_db


def ship(tenant, number: str = "1001") -> tuple[Shipment, str]:
    shipment = pending_shipment(tenant.merchant, number=number)
    response = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")
    assert response.status_code == 200, response.content
    with tenant_scope(tenant.merchant):
        return shipment, Label.objects.get(shipment=shipment).external_id


@pytest.fixture
def polled(merchant_a, shipstation_fake, settings):
    """A ShipStation account, customer tracking e-mails on, one label bought and not yet asked about."""
    shipstation_account(merchant_a.merchant)
    with tenant_scope(merchant_a.merchant):
        notification_services.notification_settings_update(merchant=merchant_a.merchant, notify_customer_shipped=True,
                                                           new_order_mode="off")
    shipment, label_id = ship(merchant_a)
    mail.outbox.clear()
    return merchant_a, shipment, label_id


def at(hours: int) -> str:
    """A scan time after the label was bought (a poll without events records its own time)."""
    return (timezone.now() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def poll(capture) -> int:
    """The beat's fan-out, its tasks run in-process, and the e-mails they queue sent after commit."""
    with capture(execute=True):
        return labels_tracking_poll_fanout()


def tracking_of(tenant, shipment) -> str:
    with tenant_scope(tenant.merchant):
        return Shipment.objects.get(pk=shipment.pk).tracking_status


def track_calls(fake) -> list[str]:
    return [path for method, path, _ in fake.requests if path.endswith("/track")]


def test_the_poll_is_on_the_beat_schedule():
    assert django_settings.CELERY_BEAT_SCHEDULE["labels.tracking_poll_fanout"] == {
        "task": "labels.tracking_poll_fanout", "schedule": 900.0}


def test_each_change_moves_the_shipment_and_emails_the_customer_once(polled, shipstation_fake, settings,
                                                              django_capture_on_commit_callbacks):
    tenant, shipment, label_id = polled
    shipstation_fake.track_as(label_id, "OUT_FOR_DELIVERY", "Out for delivery, Springfield OR",
                              occurred_at=at(8))

    assert poll(django_capture_on_commit_callbacks) == 1
    settings.LABEL_TRACKING_POLL_MINUTES = 0  # ask again at once: the same status changes nothing
    poll(django_capture_on_commit_callbacks)

    assert tracking_of(tenant, shipment) == "out_for_delivery"
    assert len(track_calls(shipstation_fake)) == 2
    assert [m.subject for m in mail.outbox] == ["Your order #1001: out for delivery"]

    shipstation_fake.track_as(label_id, "DELIVERED", "Delivered, front door", occurred_at=at(15))
    poll(django_capture_on_commit_callbacks)
    poll(django_capture_on_commit_callbacks)  # delivered: never asked again

    assert tracking_of(tenant, shipment) == "delivered"
    assert len(track_calls(shipstation_fake)) == 3
    assert [m.subject for m in mail.outbox] == ["Your order #1001: out for delivery", "Your order #1001: delivered"]
    with tenant_scope(tenant.merchant):
        history = list(OrderEvent.objects.filter(order_id=shipment.order_id, kind="tracking").order_by("id")
                       .values_list("message", "data__source"))
    assert history == [(f"Shipment {shipment.pk}: Out for delivery (Out for delivery, Springfield OR)", "ShipStation"),
                       (f"Shipment {shipment.pk}: Delivered (Delivered, front door)", "ShipStation")]


def test_a_label_asked_lately_waits_and_an_exception_says_why(polled, shipstation_fake, django_capture_on_commit_callbacks):
    tenant, shipment, label_id = polled
    poll(django_capture_on_commit_callbacks)  # in transit: recorded, nobody e-mailed
    shipstation_fake.track_as(label_id, "ATTEMPTED_DELIVERY", "Delivery attempted", occurred_at=at(9),
                              exception_description="Business closed")

    assert poll(django_capture_on_commit_callbacks) == 0  # asked within LABEL_TRACKING_POLL_MINUTES: not yet
    with tenant_scope(tenant.merchant):
        Label.objects.filter(external_id=label_id).update(tracking_polled_at=None)
    poll(django_capture_on_commit_callbacks)

    assert tracking_of(tenant, shipment) == "exception"
    assert [m.subject for m in mail.outbox] == ["Your order #1001: delivery problem"]
    with tenant_scope(tenant.merchant):
        assert OrderEvent.objects.filter(order_id=shipment.order_id, kind="tracking").latest("id").message == (
            f"Shipment {shipment.pk}: Delivery problem (Business closed)")


def test_a_status_the_merchant_turned_off_moves_the_shipment_without_an_email(polled, shipstation_fake, django_capture_on_commit_callbacks):
    tenant, shipment, label_id = polled
    with tenant_scope(tenant.merchant):
        notification_services.notification_settings_update(merchant=tenant.merchant, notify_customer_delivered=False)
    shipstation_fake.track_as(label_id, "DELIVERED", "Delivered", occurred_at=at(15))

    poll(django_capture_on_commit_callbacks)

    assert tracking_of(tenant, shipment) == "delivered"
    assert mail.outbox == []


def test_an_unknown_or_returned_status_and_the_budget(polled, shipstation_fake, settings,
                                                              django_capture_on_commit_callbacks):
    """At most LABEL_TRACKING_POLL_BATCH labels a run, the least recently asked first; a status code we do
    not know changes nothing; RETURN_TO_SENDER is returned."""
    tenant, first, first_id = polled
    second, second_id = ship(tenant, "1002")
    third, third_id = ship(tenant, "1003")
    shipstation_fake.track_as(first_id, "CARRIER_STATUS_NOT_MAPPED", "Something", occurred_at=at(8))
    shipstation_fake.track_as(second_id, "RETURN_TO_SENDER", "Returned", occurred_at=at(8))
    shipstation_fake.track_as(third_id, "IN_TRANSIT", "Departed", occurred_at=at(8))
    settings.LABEL_TRACKING_POLL_BATCH = 2

    poll(django_capture_on_commit_callbacks)
    asked_first = list(track_calls(shipstation_fake))
    poll(django_capture_on_commit_callbacks)

    assert asked_first == [f"/v2/labels/{first_id}/track", f"/v2/labels/{second_id}/track"]
    assert track_calls(shipstation_fake)[2:] == [f"/v2/labels/{third_id}/track"]
    assert [tracking_of(tenant, s) for s in (first, second, third)] == ["", "returned", "in_transit"]


def test_a_carrier_failure_is_that_labels_and_it_is_asked_again_next_run(polled, shipstation_fake,
                                                                         django_capture_on_commit_callbacks):
    tenant, shipment, label_id = polled
    shipstation_fake.track_as(label_id, "OUT_FOR_DELIVERY", "Out for delivery", occurred_at=at(1))
    shipstation_fake.fail_next("/track", 404)

    poll(django_capture_on_commit_callbacks)
    after_failure = tracking_of(tenant, shipment)
    poll(django_capture_on_commit_callbacks)  # not marked as asked: asked again at once

    assert after_failure == ""
    assert tracking_of(tenant, shipment) == "out_for_delivery"
    assert len(track_calls(shipstation_fake)) == 2
