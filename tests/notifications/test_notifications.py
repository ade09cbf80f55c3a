"""Notifications: chosen per merchant, sent to the merchant's recipients, queued once per event,
sent once even when the task is retried; the daily digest counts the merchant's own day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core import mail

from accounts.tenancy import tenant_scope
from core.templatetags.when import day_text
from notifications import services as notifications
from notifications.errors import InvalidRecipients
from notifications.models import NotificationLog, NotificationSettings
from notifications.tasks import notification_deliver_legacy_task, notification_deliver_task
from orders import services
from orders.models import Order, OrderEvent
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


def deliver(merchant, log_id):
    return notification_deliver_task.apply(kwargs={"merchant_id": merchant.pk, "log_id": log_id}, throw=True).get()


def test_new_merchant_gets_default_notification_settings(merchant_a):
    with tenant_scope(merchant_a.merchant):
        prefs = NotificationSettings.objects.get(merchant=merchant_a.merchant)
    assert (prefs.new_order_mode, prefs.notify_channel_cancellation, prefs.notify_customer_shipped,
            prefs.notify_low_stock, prefs.recipients) == ("each", True, False, True, "")


def test_new_order_email_is_sent_once_even_when_the_task_runs_again(merchant_a, django_capture_on_commit_callbacks):
    m = merchant_a.merchant
    # given a new channel order (its email is sent by the task enqueued on commit)
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        with django_capture_on_commit_callbacks(execute=True):
            order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
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
        assert (log.status, log.attempts, log.reference) == ("sent", 1, f"order:{order.pk}")
        # the order's timeline says so (orders listens for references "order:<id>")
        events = list(OrderEvent.objects.filter(merchant=m, order=order, kind=OrderEvent.Kind.NOTIFIED)
                      .values_list("message", flat=True))
        assert events == ["Emailed alice@a.example: New order #1001 (Shopify)"]


def test_merchant_mail_goes_to_the_chosen_recipients_instead_of_the_owners(merchant_a,
                                                                            django_capture_on_commit_callbacks):
    m = merchant_a.merchant
    with tenant_scope(m):
        notifications.notification_settings_update(merchant=m, recipients="Ops@Shop.example; boss@shop.example")
        make_product(m, "A-1", on_hand=5)
        with django_capture_on_commit_callbacks(execute=True):
            services.order_ingest(merchant=m, integration_id=None, normalized=normalized())
    assert [msg.to for msg in mail.outbox] == [["ops@shop.example", "boss@shop.example"]]


def test_a_failed_send_is_retried_and_then_sent_once(merchant_a, settings):
    m = merchant_a.merchant
    with tenant_scope(m):
        log = notifications.notification_integration_failure(merchant=m, kind="sync_failed", reference="job:1",
                                                             summary="Shopify sync failed")
        # the same failure reported twice queues nothing more
        assert notifications.notification_integration_failure(merchant=m, kind="sync_failed", reference="job:1",
                                                              summary="again") is None
    # given a mail server that refuses the first attempt
    settings.EMAIL_BACKEND = "tests.notifications.mailbackends.FailOnceBackend"
    from tests.notifications import mailbackends

    mailbackends.FailOnceBackend.failures_left = 1
    # when the task runs: Celery's autoretry runs it again (eagerly here) after the refusal
    first = notification_deliver_task.apply(kwargs={"merchant_id": m.pk, "log_id": log.pk}, throw=False)
    assert (first.state, first.result) == ("SUCCESS", "sent")
    with tenant_scope(m):
        log.refresh_from_db()
        assert (log.status, log.attempts) == ("sent", 2)
    # and when the task is delivered again afterwards
    assert deliver(m, log.pk) == "already-sent"
    # then exactly one email went out
    assert [msg.subject for msg in mail.outbox] == ["A sync failed: Shopify sync failed"]


def test_a_send_queued_under_the_old_task_name_is_still_delivered_once(merchant_a):
    # given a send enqueued as "orders.notification_deliver" before this version was deployed
    m = merchant_a.merchant
    with tenant_scope(m):
        log = notifications.notification_integration_failure(merchant=m, kind="webhook_dead", reference="event:9",
                                                             summary="Order webhook gave up")
    assert notification_deliver_legacy_task.name == "orders.notification_deliver"
    # when the worker runs it under the old name, then again under the new one
    old = notification_deliver_legacy_task.apply(kwargs={"merchant_id": m.pk, "log_id": log.pk}).get()
    new = deliver(m, log.pk)
    # then it is sent once
    assert (old, new) == ("sent", "already-sent")
    assert [msg.subject for msg in mail.outbox] == ["A webhook could not be processed: Order webhook gave up"]


def test_notification_queued_twice_under_one_key_is_recorded_once(merchant_a):
    # Given a notification already queued under a key
    m = merchant_a.merchant
    with tenant_scope(m):
        first = notifications.notification_send(merchant=m, key="sync_failed:7", kind="sync_failed",
                                                recipients=["a@example.com"],
                                                context={"summary": "boom", "reference": "7"})
        # When the same key is queued again
        second = notifications.notification_send(merchant=m, key="sync_failed:7", kind="sync_failed",
                                                 recipients=["a@example.com"],
                                                 context={"summary": "boom", "reference": "7"})
        # Then the first is a saved row, the second is None, and one row exists with its values
        assert first is not None and first.pk is not None
        assert second is None
        rows = list(NotificationLog.objects.filter(merchant=m, key="sync_failed:7").values_list(
            "pk", "kind", "recipients", "status"))
        assert rows == [(first.pk, "sync_failed", ["a@example.com"], "pending")]


def test_digest_mode_sends_no_per_order_email_but_one_digest(merchant_a, django_capture_on_commit_callbacks):
    from django.utils import timezone

    m = merchant_a.merchant
    with tenant_scope(m):
        notifications.notification_settings_update(merchant=m, new_order_mode="digest")
        make_product(m, "A-1", on_hand=5)
        with django_capture_on_commit_callbacks(execute=True):
            services.order_ingest(merchant=m, integration_id=None, normalized=normalized("1"))
            services.order_ingest(merchant=m, integration_id=None, normalized=normalized("2"))
        assert len(mail.outbox) == 0
        with django_capture_on_commit_callbacks(execute=True):
            services.notification_daily_digest(merchant=m, day=timezone.localdate())
            services.notification_daily_digest(merchant=m, day=timezone.localdate())
    assert [msg.subject for msg in mail.outbox] == [f"Your orders of {day_text(timezone.localdate())}"]
    assert "#1" in mail.outbox[0].body and "#2" in mail.outbox[0].body


def _received_at(merchant, external_id: str, at: datetime) -> None:
    order = services.order_ingest(merchant=merchant, integration_id=None, normalized=normalized(external_id)).order
    Order.objects.filter(merchant=merchant, pk=order.pk).update(created_at=at)


def test_the_digest_counts_the_merchants_own_day(merchant_a, django_capture_on_commit_callbacks):
    # given a New York merchant on the digest, and orders received at 22:00 on the 1st and 01:00 on
    # the 2nd New York time (02:00 and 05:00 UTC on the 2nd) and 23:30 on the 2nd (04:30 UTC on the 3rd)
    m = merchant_a.merchant
    m.timezone = "America/New_York"
    m.save(update_fields=["timezone"])
    with tenant_scope(m):
        notifications.notification_settings_update(merchant=m, new_order_mode="digest")
        make_product(m, "A-1", on_hand=10)
        _received_at(m, "1", datetime(2026, 11, 2, 3, 0, tzinfo=UTC))
        _received_at(m, "2", datetime(2026, 11, 2, 6, 0, tzinfo=UTC))
        _received_at(m, "3", datetime(2026, 11, 3, 4, 30, tzinfo=UTC))
        # when the digests of the 1st and the 2nd are made
        with django_capture_on_commit_callbacks(execute=True):
            first = services.notification_daily_digest(merchant=m, day=date(2026, 11, 1))
            second = services.notification_daily_digest(merchant=m, day=date(2026, 11, 2))
    # then each day holds the orders received on that New York day
    assert ([o["number"] for o in first.context["orders"]], [o["number"] for o in second.context["orders"]]) == (
        ["#1"], ["#3", "#2"])
    assert (first.context["count"], second.context["count"]) == (1, 2)
    assert [msg.subject for msg in mail.outbox] == ["Your orders of 1 Nov 2026", "Your orders of 2 Nov 2026"]


def test_the_digest_fanout_asks_each_merchant_for_its_own_yesterday(merchant_a, merchant_b, monkeypatch):
    from orders import tasks

    # given two digest merchants, in Auckland (UTC+13) and Los Angeles (UTC-8), at 12:00 UTC on the 2nd
    for tenant, tz in ((merchant_a, "Pacific/Auckland"), (merchant_b, "America/Los_Angeles")):
        tenant.merchant.timezone = tz
        tenant.merchant.save(update_fields=["timezone"])
        with tenant_scope(tenant.merchant):
            notifications.notification_settings_update(merchant=tenant.merchant, new_order_mode="digest")
    monkeypatch.setattr("django.utils.timezone.now", lambda: datetime(2026, 11, 2, 12, 0, tzinfo=UTC))
    sent = []
    monkeypatch.setattr(tasks.notification_daily_digest_task, "apply_async", lambda kwargs: sent.append(kwargs))
    # when beat runs the fan-out
    count = tasks.notification_daily_digest_fanout()
    # then Auckland (01:00 on the 3rd) gets the 2nd, Los Angeles (04:00 on the 2nd) gets the 1st
    assert count == 2
    assert sorted(sent, key=lambda k: k["merchant_id"]) == [
        {"merchant_id": merchant_a.merchant.pk, "day": "2026-11-02"},
        {"merchant_id": merchant_b.merchant.pk, "day": "2026-11-01"},
    ]


def test_customer_shipping_confirmation_when_enabled(merchant_a, django_capture_on_commit_callbacks):
    from orders.models import OrderLine
    from orders.services import ShipmentLineRequest

    m = merchant_a.merchant
    with tenant_scope(m):
        notifications.notification_settings_update(merchant=m, notify_customer_shipped=True, new_order_mode="off",
                                                   recipients="ops@shop.example")
        make_product(m, "A-1", on_hand=5)
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
        line = OrderLine.objects.get(merchant=m)
        with django_capture_on_commit_callbacks(execute=True):
            services.shipment_create(merchant=m, order=order, lines=[ShipmentLineRequest(line.pk, 2)],
                                     carrier="UPS", tracking_number="1ZTRACK")
    # the customer, not the merchant's recipients
    assert [(msg.to, msg.subject) for msg in mail.outbox] == [(["ada@example.com"], "Your order #1001 has shipped")]
    assert "1ZTRACK" in mail.outbox[0].body


# --- Recipients are email addresses (defect 6) ------------------------------------------------

def test_the_service_refuses_recipients_that_are_not_email_addresses(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        notifications.notification_settings_update(merchant=m, recipients="ops@shop.example")
        with pytest.raises(InvalidRecipients) as exc:
            notifications.notification_settings_update(merchant=m, recipients="ok@shop.example, bob, x@y@z")
        assert (exc.value.code, exc.value.status_code, exc.value.details) == (
            "invalid_recipients", 400, {"field": "recipients", "invalid": ["bob", "x@y@z"]})
        assert exc.value.message == "bob, x@y@z are not email addresses."
        assert NotificationSettings.objects.get(merchant=m).recipients == "ops@shop.example"


def test_the_settings_page_refuses_an_invalid_recipient_with_a_clear_message(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        notifications.notification_settings_update(merchant=m, recipients="ops@shop.example")
    r = merchant_a.web.post("/orders/notifications/", {"new_order_mode": "digest",
                                                       "recipients": "ops@shop.example, not-an-email"})
    assert r.status_code == 400
    assert b"not-an-email is not an email address." in r.content
    with tenant_scope(m):
        prefs = NotificationSettings.objects.get(merchant=m)
    assert (prefs.new_order_mode, prefs.recipients) == ("each", "ops@shop.example")


def test_the_settings_page_saves_valid_recipients_and_switches(merchant_a):
    m = merchant_a.merchant
    r = merchant_a.web.get("/orders/notifications/")
    assert r.status_code == 200 and b'name="notify_low_stock"' in r.content
    r = merchant_a.web.post("/orders/notifications/", {"new_order_mode": "off", "notify_low_stock": "on",
                                                       "recipients": "Ops@Shop.example;\nboss@shop.example"})
    assert (r.status_code, r["Location"]) == (302, "/orders/notifications/")
    with tenant_scope(m):
        prefs = NotificationSettings.objects.get(merchant=m)
    assert (prefs.new_order_mode, prefs.notify_low_stock, prefs.notify_sync_failure, prefs.recipients) == (
        "off", True, False, "ops@shop.example, boss@shop.example")


def test_an_invalid_address_saved_before_validation_is_skipped_not_sent_to(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        NotificationSettings.objects.filter(merchant=m).update(recipients="not-an-email, ops@shop.example")
        assert notifications.notification_recipients(merchant=m) == ["ops@shop.example"]
        NotificationSettings.objects.filter(merchant=m).update(recipients="not-an-email")
        assert notifications.notification_recipients(merchant=m) == ["alice@a.example"]


def test_a_notification_whose_send_was_lost_is_sent_by_the_sweeper_once(merchant_a,
                                                                           django_capture_on_commit_callbacks):
    # Given: a notification queued whose send after commit never reached a worker (the broker was down)
    with tenant_scope(merchant_a.merchant):
        log = notifications.notification_send(merchant=merchant_a.merchant, key="sync_failed:9", kind="sync_failed",
                                              recipients=["a@example.com"], context={"summary": "boom",
                                                                                     "reference": "9"})
    queued_at = log.created_at
    # When: the sweeper runs before SWEEP_AFTER, after it, and again within its lease
    with django_capture_on_commit_callbacks(execute=True):
        early = notifications.notifications_sweep(now=queued_at + notifications.SWEEP_AFTER / 2)
        late = notifications.notifications_sweep(now=queued_at + notifications.SWEEP_AFTER)
        again = notifications.notifications_sweep(now=queued_at + notifications.SWEEP_AFTER * 1.5)
    # Then: only the late run sends it, and the e-mail goes out once
    assert (early, late, again) == (0, 1, 0)
    with tenant_scope(merchant_a.merchant):
        assert NotificationLog.objects.get(pk=log.pk).status == NotificationLog.Status.SENT
    assert [m.to for m in mail.outbox] == [["a@example.com"]]
