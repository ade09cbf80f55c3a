"""Email notifications: which ones a merchant wants, queued once per event, sent once.

Each notification is a NotificationLog row with a key unique per merchant ("new_order:<id>",
"digest:<date>", "shipped:<shipment id>"...). Queueing inserts the row (a second insert of the
same key does nothing) and enqueues the send task after commit. Sending claims the row
(pending|failed → sending) in its own committed transaction before talking to the mail server,
so a retried or duplicated task finds it sent or claimed and sends nothing.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Membership, Merchant
from core.enqueue import enqueue_on_commit
from core.errors import ValidationFailed
from orders.models import NotificationLog, NotificationSettings, Order, OrderEvent, OrderStatus, Shipment

logger = logging.getLogger(__name__)

KINDS = {
    "new_order": "New order {number} ({channel})",
    "digest": "Your orders of {day}",
    "channel_cancellation": "Order {number} was cancelled on {channel}",
    "sync_failed": "A sync failed: {summary}",
    "webhook_dead": "A webhook could not be processed: {summary}",
    "customer_shipped": "Your order {number} has shipped",
}
CLAIM_TIMEOUT = timedelta(minutes=15)


def notification_settings_create_default(*, merchant: Merchant) -> NotificationSettings:
    """Onboarding step (settings.MERCHANT_ONBOARDING_STEPS): every merchant starts with defaults."""
    obj, _ = NotificationSettings.objects.get_or_create(merchant=merchant)
    return obj


def notification_settings_get(*, merchant: Merchant) -> NotificationSettings:
    """Merchants created before this app existed get their defaults on first use."""
    obj = NotificationSettings.objects.filter(merchant=merchant).first()
    return obj or notification_settings_create_default(merchant=merchant)


def notification_settings_update(*, merchant: Merchant, **values: Any) -> NotificationSettings:
    allowed = {"new_order_mode", "notify_channel_cancellation", "notify_sync_failure",
               "notify_customer_shipped", "recipients"}
    unknown = set(values) - allowed
    if unknown:
        raise ValidationFailed(f"Unknown settings: {', '.join(sorted(unknown))}")
    recipients = values.get("recipients")
    if recipients is not None:
        values["recipients"] = ", ".join(_split(recipients))
    with transaction.atomic():
        obj = notification_settings_get(merchant=merchant)
        for name, value in values.items():
            setattr(obj, name, value)
        obj.save()
    return obj


def _split(text: str) -> list[str]:
    return [p.strip().lower() for p in text.replace(";", ",").replace("\n", ",").split(",") if p.strip()]


def merchant_recipients(*, merchant: Merchant, prefs: NotificationSettings | None = None) -> list[str]:
    prefs = prefs or notification_settings_get(merchant=merchant)
    if prefs.recipients.strip():
        return _split(prefs.recipients)
    owners = Membership.objects.filter(merchant=merchant, role=Membership.Role.OWNER).select_related("user")
    return sorted({m.user.email for m in owners})


def _base_url() -> str:
    return (getattr(settings, "WEBHOOK_BASE_URL", "") or "http://127.0.0.1:8000").rstrip("/")


def _order_context(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.pk, "number": order.number, "channel": order.get_channel_display(),
        "customer_name": order.customer_name, "customer_email": order.customer_email,
        "total": str(order.total_amount), "currency": order.currency,
        "placed_at": order.placed_at.isoformat(), "url": f"{_base_url()}/orders/{order.pk}/",
        "is_short": order.is_short, "needs_attention": order.needs_attention,
    }


def notification_queue(
    *, merchant: Merchant, key: str, kind: str, recipients: list[str], context: dict[str, Any],
    order: Order | None = None,
) -> NotificationLog | None:
    """Record the notification under its key and send it after commit; None if the key was queued before."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not recipients:
        return None
    subject = KINDS[kind].format_map(_Default(context))[:255]
    log = NotificationLog(merchant=merchant, key=key[:200], kind=kind, order=order, recipients=recipients,
                          subject=subject, context=context)
    if connection.vendor == "postgresql":
        if not _insert_unless_queued(log):
            return None
    else:
        try:
            with transaction.atomic():
                log.save(force_insert=True)
        except IntegrityError:
            return None
    enqueue_on_commit("orders.notification_deliver", merchant_id=merchant.pk, log_id=log.pk)
    return log


def _insert_unless_queued(log: NotificationLog) -> bool:
    """INSERT ... ON CONFLICT (merchant, key) DO NOTHING: the same as a create in a savepoint that
    swallows the duplicate key, without the SAVEPOINT/RELEASE round trips (one per order ingested)."""
    fields = [f for f in NotificationLog._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(log, add=True), connection) for f in fields]
    table, qn = NotificationLog._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {qn(table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            "ON CONFLICT (merchant_id, key) DO NOTHING RETURNING id",
            values,
        )
        row = cur.fetchone()
    if row is None:
        return False
    log.pk = row[0]
    log._state.adding = False
    log._state.db = connection.alias
    return True


class _Default(dict):
    def __missing__(self, key: str) -> str:
        return ""


def notification_new_order(*, merchant: Merchant, order: Order) -> NotificationLog | None:
    prefs = notification_settings_get(merchant=merchant)
    if prefs.new_order_mode != NotificationSettings.NewOrderMode.EACH:
        return None  # "digest" is sent by the daily task; "off" sends nothing
    return notification_queue(merchant=merchant, key=f"new_order:{order.pk}", kind="new_order",
                              recipients=merchant_recipients(merchant=merchant, prefs=prefs),
                              context=_order_context(order), order=order)


def notification_channel_cancellation(*, merchant: Merchant, order: Order) -> NotificationLog | None:
    prefs = notification_settings_get(merchant=merchant)
    if not prefs.notify_channel_cancellation:
        return None
    return notification_queue(merchant=merchant, key=f"channel_cancellation:{order.pk}", kind="channel_cancellation",
                              recipients=merchant_recipients(merchant=merchant, prefs=prefs),
                              context=_order_context(order), order=order)


def notification_integration_failure(
    *, merchant: Merchant, kind: str, reference: str, summary: str, detail: str = ""
) -> NotificationLog | None:
    """For the integrations and webhooks apps: a sync failed, or a webhook delivery gave up.

    kind is "sync_failed" or "webhook_dead"; reference identifies the failure (e.g. the WorkerJob
    or WebhookEvent id), so calling again for the same failure sends nothing more.
    """
    if kind not in ("sync_failed", "webhook_dead"):
        raise ValueError("kind must be 'sync_failed' or 'webhook_dead'")
    prefs = notification_settings_get(merchant=merchant)
    if not prefs.notify_sync_failure:
        return None
    return notification_queue(merchant=merchant, key=f"{kind}:{reference}", kind=kind,
                              recipients=merchant_recipients(merchant=merchant, prefs=prefs),
                              context={"summary": summary[:200], "detail": detail[:4000], "reference": reference,
                                       "url": f"{_base_url()}/jobs/"})


def notification_customer_shipped(*, merchant: Merchant, shipment: Shipment) -> NotificationLog | None:
    prefs = notification_settings_get(merchant=merchant)
    order = shipment.order
    if not prefs.notify_customer_shipped or not order.customer_email:
        return None
    context = _order_context(order) | {
        "carrier": shipment.carrier, "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url, "merchant_name": merchant.name,
        "items": [{"sku": sl.order_line.sku, "title": sl.order_line.title, "quantity": sl.quantity}
                  for sl in shipment.lines.select_related("order_line")],
    }
    return notification_queue(merchant=merchant, key=f"customer_shipped:{shipment.pk}", kind="customer_shipped",
                              recipients=[order.customer_email], context=context, order=order)


def notification_daily_digest(*, merchant: Merchant, day: date) -> NotificationLog | None:
    """The day's new orders in one email, for merchants who chose the digest."""
    prefs = notification_settings_get(merchant=merchant)
    if prefs.new_order_mode != NotificationSettings.NewOrderMode.DIGEST:
        return None
    start = timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())
    orders = Order.objects.filter(merchant=merchant, created_at__gte=start, created_at__lt=start + timedelta(days=1))
    totals = orders.aggregate(n=Count("id"), revenue=Sum("total_amount"))
    if not totals["n"]:
        return None
    sample = [_order_context(o) for o in orders.order_by("-placed_at", "-id")[:50]]
    context = {"day": day.isoformat(), "count": totals["n"], "revenue": str(totals["revenue"] or 0),
               "currency": merchant.currency, "orders": sample,
               "short": orders.filter(is_short=True).count(),
               "attention": orders.filter(needs_attention=True).exclude(status=OrderStatus.CANCELLED).count(),
               "url": f"{_base_url()}/orders/"}
    return notification_queue(merchant=merchant, key=f"digest:{day.isoformat()}", kind="digest",
                              recipients=merchant_recipients(merchant=merchant, prefs=prefs), context=context)


def notification_deliver(*, merchant: Merchant, log_id: int) -> str:
    """Send one queued notification at most once; returns "sent", "already-sent", "claimed" or "missing".

    Not one transaction, on purpose: the claim commits before the mail server is called, so a
    task that is retried or delivered twice finds the row sent (or being sent) and stops. A send
    that raises puts the row back to "failed" so the retry may claim it again. A worker killed in
    the middle of a send leaves the row "sending": it is not sent again within CLAIM_TIMEOUT
    (better one email missing than two), after which a retry may claim it.
    """
    now = timezone.now()
    with transaction.atomic():
        log = NotificationLog.objects.select_for_update().filter(merchant=merchant, pk=log_id).first()
        if log is None:
            return "missing"
        if log.status == NotificationLog.Status.SENT:
            return "already-sent"
        if log.status == NotificationLog.Status.SENDING and log.claimed_at and now - log.claimed_at < CLAIM_TIMEOUT:
            return "claimed"
        log.status = NotificationLog.Status.SENDING
        log.claimed_at = now
        log.attempts += 1
        log.save(update_fields=["status", "claimed_at", "attempts"])
    try:
        _send(log, merchant)
    except Exception as exc:
        NotificationLog.objects.filter(pk=log.pk).update(status=NotificationLog.Status.FAILED, last_error=str(exc)[:2000])
        raise
    with transaction.atomic():
        NotificationLog.objects.filter(pk=log.pk).update(status=NotificationLog.Status.SENT, sent_at=timezone.now(),
                                                         last_error="")
        if log.order_id:
            OrderEvent.objects.create(merchant=merchant, order_id=log.order_id, kind=OrderEvent.Kind.NOTIFIED,
                                      message=f"Emailed {', '.join(log.recipients)}: {log.subject}",
                                      data={"kind": log.kind, "log": log.pk})
    logger.info("orders.notification.sent", extra={"merchant_id": merchant.pk, "key": log.key})
    return "sent"


def _send(log: NotificationLog, merchant: Merchant) -> None:
    context = {**log.context, "subject": log.subject, "merchant_name": merchant.name, "kind": log.kind}
    text = render_to_string(f"orders/email/{log.kind}.txt", context)
    html = render_to_string(f"orders/email/{log.kind}.html", context)
    message = EmailMultiAlternatives(subject=log.subject, body=text, to=log.recipients,
                                     headers={"X-Switchboard-Notification": log.key})
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)
