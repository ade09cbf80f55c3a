"""Notifications: chosen per merchant, queued once per event, sent once even when the task is retried."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.tenancy import tenant_scope
from orders import services
from orders.models import NotificationLog, NotificationSettings, OrderEvent
from orders.tasks import notification_deliver_task
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


def test_new_merchant_gets_default_notification_settings(merchant_a):
    with tenant_scope(merchant_a.merchant):
        prefs = NotificationSettings.objects.get(merchant=merchant_a.merchant)
    assert (prefs.new_order_mode, prefs.notify_channel_cancellation, prefs.notify_customer_shipped) == (
        "each", True, False)


def test_new_order_email_is_sent_once_even_when_the_task_runs_again(merchant_a, django_capture_on_commit_callbacks):
    m = merchant_a.merchant
    # given a new channel order (its email is sent by the task enqueued on commit)
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        with django_capture_on_commit_callbacks(execute=True):
            order = services.order_ingest(merchant=m, integration_id=7, normalized=normalized()).order
        log = NotificationLog.objects.get(merchant=m)
    assert len(mail.outbox) == 1
    # when the same task is delivered again (retry, redelivery after a lost ack), from outside any scope
    again = notification_deliver_task.apply(kwargs={"merchant_id": m.pk, "log_id": log.pk}).get()
    third = notification_deliver_task.apply(kwargs={"merchant_id": m.pk, "log_id": log.pk}).get()
    # then nothing more is sent
    assert (again, third) == ("already-sent", "already-sent")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@a.example"]
    assert message.subject == "New order #1001 (Shopify)"
    assert "#1001" in message.body and message.alternatives[0][1] == "text/html"
    with tenant_scope(m):
        log.refresh_from_db()
        assert (log.status, log.attempts) == ("sent", 1)
        assert OrderEvent.objects.filter(merchant=m, order=order, kind=OrderEvent.Kind.NOTIFIED).count() == 1


def test_a_failed_send_is_retried_and_then_sent_once(merchant_a, settings):
    m = merchant_a.merchant
    with tenant_scope(m):
        log = services.notification_integration_failure(merchant=m, kind="sync_failed", reference="job:1",
                                                        summary="Shopify sync failed")
        # the same failure reported twice queues nothing more
        assert services.notification_integration_failure(merchant=m, kind="sync_failed", reference="job:1",
                                                         summary="again") is None
    # given a mail server that refuses the first attempt
    settings.EMAIL_BACKEND = "tests.orders.mailbackends.FailOnceBackend"
    from tests.orders import mailbackends

    mailbackends.FailOnceBackend.failures_left = 1
    # when the task runs: Celery's autoretry runs it again (eagerly here) after the refusal
    first = notification_deliver_task.apply(kwargs={"merchant_id": m.pk, "log_id": log.pk}, throw=False)
    assert (first.state, first.result) == ("SUCCESS", "sent")
    with tenant_scope(m):
        log.refresh_from_db()
        assert (log.status, log.attempts) == ("sent", 2)
    # and when the task is delivered again afterwards
    assert services_deliver(m, log.pk) == "already-sent"
    # then exactly one email went out
    assert [msg.subject for msg in mail.outbox] == ["A sync failed: Shopify sync failed"]


def services_deliver(merchant, log_id):
    return notification_deliver_task.apply(kwargs={"merchant_id": merchant.pk, "log_id": log_id}, throw=True).get()


def test_digest_mode_sends_no_per_order_email_but_one_digest(merchant_a, django_capture_on_commit_callbacks):
    from django.utils import timezone

    m = merchant_a.merchant
    with tenant_scope(m):
        services.notification_settings_update(merchant=m, new_order_mode="digest")
        make_product(m, "A-1", on_hand=5)
        with django_capture_on_commit_callbacks(execute=True):
            services.order_ingest(merchant=m, integration_id=7, normalized=normalized("1"))
            services.order_ingest(merchant=m, integration_id=7, normalized=normalized("2"))
        assert len(mail.outbox) == 0
        with django_capture_on_commit_callbacks(execute=True):
            services.notification_daily_digest(merchant=m, day=timezone.localdate())
            services.notification_daily_digest(merchant=m, day=timezone.localdate())
    assert [msg.subject for msg in mail.outbox] == [f"Your orders of {timezone.localdate().isoformat()}"]
    assert "#1" in mail.outbox[0].body and "#2" in mail.outbox[0].body


def test_customer_shipping_confirmation_when_enabled(merchant_a, django_capture_on_commit_callbacks):
    from orders.models import OrderLine
    from orders.services import ShipmentLineRequest

    m = merchant_a.merchant
    with tenant_scope(m):
        services.notification_settings_update(merchant=m, notify_customer_shipped=True, new_order_mode="off")
        make_product(m, "A-1", on_hand=5)
        order = services.order_ingest(merchant=m, integration_id=7, normalized=normalized()).order
        line = OrderLine.objects.get(merchant=m)
        with django_capture_on_commit_callbacks(execute=True):
            services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(line.pk, 2)],
                                     carrier="UPS", tracking_number="1ZTRACK")
    assert [(msg.to, msg.subject) for msg in mail.outbox] == [(["ada@example.com"], "Your order #1001 has shipped")]
    assert "1ZTRACK" in mail.outbox[0].body
