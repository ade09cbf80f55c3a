"""Every email a merchant or a customer gets goes through here: chosen, queued once per event, sent once.

Each notification is a NotificationLog row with a key unique per merchant ("new_order:<id>",
"digest:<date>", "low_stock:<episode>"...). Queueing inserts the row (a second insert of the same
key does nothing) and enqueues the send task after commit. Sending claims the row
(pending|failed → sending) in its own committed transaction before talking to the mail server,
so a retried or duplicated task finds it sent or claimed and sends nothing.

This app knows no order and no product: orders and inventory call `notification_send` with the
facts (the template context) and a reference ("order:12"). An app that wants to hear that a
notification about one of its objects went out registers a listener for the reference's prefix
(`sent_listener_register("order", ...)`) from its AppConfig.ready().
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Membership, Merchant
from accounts.services.audit import audit_record
from accounts.tenancy import unscoped
from core.enqueue import enqueue_on_commit
from core.errors import ValidationFailed
from core.outbox import claim_due
from notifications.errors import InvalidRecipients
from notifications.models import NotificationLog, NotificationSettings

logger = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=15)
# A queued notification not delivered by then had its send lost (the broker was down after the commit):
# the sweeper sends it again (notifications_sweep).
SWEEP_AFTER = timedelta(minutes=5)
MAX_RECIPIENTS = 20
Mode = NotificationSettings.NewOrderMode


@dataclass(frozen=True)
class Kind:
    """A kind of email: its subject (formatted with the context) and the merchant's switch for it."""

    subject: str
    is_wanted: Callable[[NotificationSettings], bool]


KINDS: dict[str, Kind] = {
    "new_order": Kind("New order {number} ({channel})", lambda p: p.new_order_mode == Mode.EACH),
    "digest": Kind("Your orders of {day_words}", lambda p: p.new_order_mode == Mode.DIGEST),
    "channel_cancellation": Kind("Order {number} was cancelled on {channel}", lambda p: p.notify_channel_cancellation),
    "sync_failed": Kind("A sync failed: {summary}", lambda p: p.notify_sync_failure),
    "webhook_dead": Kind("A webhook could not be processed: {summary}", lambda p: p.notify_sync_failure),
    "customer_shipped": Kind("Your order {number} has shipped", lambda p: p.notify_customer_shipped),
    # Tracking news (out for delivery, delivered, a problem): under the same switch as the tracking email,
    # and each status under its own (NotificationSettings.wants_customer_tracking, asked by the caller).
    "customer_tracking": Kind("Your order {number}: {status_words}", lambda p: p.notify_customer_shipped),
    "low_stock": Kind("Low stock: {summary}", lambda p: p.notify_low_stock),
}
SETTINGS_FIELDS = frozenset({"new_order_mode", "notify_channel_cancellation", "notify_sync_failure",
                             "notify_customer_shipped", "notify_customer_out_for_delivery",
                             "notify_customer_delivered", "notify_customer_exception", "notify_low_stock",
                             "recipients"})

SentListener = Callable[..., None]
SENT_LISTENERS: dict[str, SentListener] = {}


def sent_listener_register(prefix: str, listener: SentListener) -> None:
    """Called from a higher app's AppConfig.ready(): `listener(merchant=, log=)` runs after a
    notification whose reference starts with "<prefix>:" is sent (orders writes its timeline)."""
    SENT_LISTENERS[prefix] = listener


# --- Recipients -----------------------------------------------------------------------------

def _split(text: str) -> list[str]:
    parts = (p.strip().lower() for p in text.replace(";", ",").replace("\n", ",").split(","))
    return list(dict.fromkeys(p for p in parts if p))


def _is_email(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def recipients_parse(text: str) -> list[str]:
    """The addresses a merchant typed (commas, semicolons or lines), or InvalidRecipients naming the bad ones.

    Validated here, at the service boundary, so the form, an API and a script all refuse the
    same input with the same message instead of mail failing later at the mail server.
    """
    addresses = _split(text)
    invalid = [a for a in addresses if not _is_email(a)]
    if invalid:
        noun = "is not an email address" if len(invalid) == 1 else "are not email addresses"
        raise InvalidRecipients(f"{', '.join(invalid)} {noun}.", invalid=invalid)
    if len(addresses) > MAX_RECIPIENTS:
        raise InvalidRecipients(f"At most {MAX_RECIPIENTS} recipients.", invalid=[])
    return addresses


def notification_recipients(*, merchant: Merchant, prefs: NotificationSettings | None = None,
                            owners: list[str] | None = None) -> list[str]:
    """The one rule for who gets a merchant's mail: the recipients it chose, else its owners.

    Addresses saved before they were validated and that are not email addresses are left out
    (and logged) rather than failing every send.
    """
    prefs = prefs or notification_settings_get(merchant=merchant)
    chosen = _split(prefs.recipients)
    valid = [a for a in chosen if _is_email(a)]
    if len(valid) != len(chosen):
        logger.warning("notifications.recipients.invalid_skipped",
                       extra={"merchant_id": merchant.pk, "skipped": sorted(set(chosen) - set(valid))})
    if valid:
        return valid
    if owners is None:  # `owners`: the addresses a caller already read with the settings (_settings_and_owners)
        owners = list(_owner_emails(merchant))
    return sorted({e for e in owners if e and _is_email(e)})


# --- Settings -------------------------------------------------------------------------------

def notification_settings_create_default(*, merchant: Merchant) -> NotificationSettings:
    """Onboarding step (accounts.registry.onboarding_steps, registered in NotificationsConfig.ready()): every merchant starts with defaults."""
    obj, _ = NotificationSettings.objects.get_or_create(merchant=merchant)
    return obj


def notification_settings_get(*, merchant: Merchant) -> NotificationSettings:
    """Merchants created before this app existed get their defaults on first use."""
    try:
        return NotificationSettings.objects.get(merchant=merchant)
    except NotificationSettings.DoesNotExist:
        return notification_settings_create_default(merchant=merchant)


def notification_settings_update(*, merchant: Merchant, **values: Any) -> NotificationSettings:
    """Change the merchant's choices; recipients must be email addresses (InvalidRecipients otherwise)."""
    unknown = set(values) - SETTINGS_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown settings: {', '.join(sorted(unknown))}")
    if "new_order_mode" in values and values["new_order_mode"] not in Mode.values:
        raise ValidationFailed(f"new_order_mode must be one of {', '.join(Mode.values)}.",
                               details={"field": "new_order_mode"})
    if values.get("recipients") is not None:
        values["recipients"] = ", ".join(recipients_parse(values["recipients"]))
    with transaction.atomic():
        notification_settings_create_default(merchant=merchant)
        obj = NotificationSettings.objects.select_for_update().get(merchant=merchant)
        before = {name: getattr(obj, name) for name in values}
        for name, value in values.items():
            setattr(obj, name, value)
        obj.save()
        audit_record(merchant=merchant, action="notifications.settings_changed", obj=obj,
                     object_repr="notification settings", before=before, after=values)
    return obj


# --- Queueing -------------------------------------------------------------------------------

class _Default(dict):
    def __missing__(self, key: str) -> str:
        return ""


def notification_is_wanted(*, merchant: Merchant, kind: str) -> bool:
    """For callers whose context costs queries: ask before building it (notification_send asks again)."""
    return KINDS[kind].is_wanted(notification_settings_get(merchant=merchant))


def notification_send(
    *, merchant: Merchant, kind: str, key: str, context: dict[str, Any], recipients: list[str] | None = None,
    reference: str = "",
) -> NotificationLog | None:
    """Queue one email under its key if the merchant wants this kind; sent by a task after commit.

    `recipients` None means the merchant's own (notification_recipients); a list (a customer's
    address) is sent to as given, less what is not an email address. Returns None when the
    merchant turned the kind off, nobody is left to send to, or the key was queued before.
    """
    spec = KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown notification kind {kind!r}")
    prefs = notification_settings_get(merchant=merchant)
    if not spec.is_wanted(prefs):
        return None
    if recipients is None:
        to = notification_recipients(merchant=merchant, prefs=prefs)
    else:
        to = [a for a in _split(", ".join(recipients)) if _is_email(a)]
    if not to:
        return None
    subject = spec.subject.format_map(_Default(context))[:255]
    log = NotificationLog(merchant=merchant, key=key[:200], kind=kind, reference=reference[:100], recipients=to,
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
    enqueue_on_commit("notifications.notification_deliver", merchant_id=merchant.pk, log_id=log.pk)
    return log


def notification_send_many(
    *, merchant: Merchant, kind: str, items: Iterable[tuple[str, str, dict[str, Any]]],
) -> list[NotificationLog]:
    """notification_send for many events of one kind to the merchant's own recipients: items are (key,
    reference, context). The settings and recipients are read once and the rows inserted in one statement
    (ON CONFLICT DO NOTHING: a key queued before is skipped), where a page of ingested orders would otherwise
    pay three statements an order. `items` is read only when the kind is wanted and has recipients (a
    generator: a page's 250 contexts, dates in the merchant's zone, cost more than the rest when a merchant
    takes new orders as a digest). Returns the rows queued now."""
    spec = KINDS[kind]
    prefs, owners = _settings_and_owners(merchant)
    if not spec.is_wanted(prefs):
        return []
    to = notification_recipients(merchant=merchant, prefs=prefs, owners=owners)
    items = list(items)
    if not to or not items:
        return []
    logs = [NotificationLog(merchant=merchant, key=key[:200], kind=kind, reference=reference[:100], recipients=to,
                            subject=spec.subject.format_map(_Default(context))[:255], context=context)
            for key, reference, context in items]
    if connection.vendor != "postgresql":
        return [log for log in logs if notification_send(merchant=merchant, kind=kind, key=log.key,
                                                         reference=log.reference, context=log.context)]
    fields = [f for f in NotificationLog._meta.concrete_fields if not f.primary_key]
    table, qn = NotificationLog._meta.db_table, connection.ops.quote_name
    row = f"({', '.join(['%s'] * len(fields))})"
    values = [f.get_db_prep_save(f.pre_save(log, add=True), connection) for log in logs for f in fields]
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {qn(table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
            f"VALUES {', '.join([row] * len(logs))} ON CONFLICT (merchant_id, key) DO NOTHING RETURNING id, key",
            values,
        )
        ids = dict((key, pk) for pk, key in cur.fetchall())
    queued = []
    for log in logs:
        if log.key in ids:
            log.pk = ids.pop(log.key)
            log._state.adding, log._state.db = False, connection.alias
            queued.append(log)
    for log in queued:
        enqueue_on_commit("notifications.notification_deliver", merchant_id=merchant.pk, log_id=log.pk)
    return queued


def _owner_emails(merchant: Merchant):
    return Membership.objects.filter(merchant=merchant, role=Membership.Role.OWNER, user__is_active=True).values_list(
        "user__email", flat=True)


def _settings_and_owners(merchant: Merchant) -> tuple[NotificationSettings, list[str] | None]:
    """The settings and the owners' addresses in one query on PostgreSQL (an array subquery), where
    notification_settings_get then notification_recipients take two; (settings, None) elsewhere."""
    if connection.vendor != "postgresql":
        return notification_settings_get(merchant=merchant), None
    from django.contrib.postgres.expressions import ArraySubquery

    row = (NotificationSettings.objects.filter(merchant=merchant)
           .annotate(owner_emails=ArraySubquery(_owner_emails(merchant).order_by())).first())
    if row is None:
        return notification_settings_get(merchant=merchant), None
    return row, list(row.owner_emails or [])


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


def _base_url() -> str:
    return (getattr(settings, "WEBHOOK_BASE_URL", "") or "http://127.0.0.1:8000").rstrip("/")


def notification_url(path: str) -> str:
    """An absolute link into the dashboard for an email ("/orders/12/")."""
    return f"{_base_url()}{path}"


def notification_integration_failure(
    *, merchant: Merchant, kind: str, reference: str, summary: str, detail: str = ""
) -> NotificationLog | None:
    """For the integrations and webhooks apps: a sync failed, or a webhook delivery gave up.

    kind is "sync_failed" or "webhook_dead"; reference identifies the failure (e.g. the WorkerJob
    or WebhookEvent id), so calling again for the same failure sends nothing more.
    """
    if kind not in ("sync_failed", "webhook_dead"):
        raise ValueError("kind must be 'sync_failed' or 'webhook_dead'")
    return notification_send(merchant=merchant, kind=kind, key=f"{kind}:{reference}", reference=reference,
                             context={"summary": summary[:200], "detail": detail[:4000], "reference": reference,
                                      "url": notification_url("/jobs/")})


# --- Sending --------------------------------------------------------------------------------

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
        try:
            log = NotificationLog.objects.select_for_update().get(merchant=merchant, pk=log_id)
        except NotificationLog.DoesNotExist:
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
        NotificationLog.objects.filter(merchant=merchant, pk=log.pk).update(
            status=NotificationLog.Status.FAILED, last_error=str(exc)[:2000])
        raise
    NotificationLog.objects.filter(merchant=merchant, pk=log.pk).update(
        status=NotificationLog.Status.SENT, sent_at=timezone.now(), last_error="")
    _tell_listeners(merchant, log)
    logger.info("notifications.notification.sent", extra={"merchant_id": merchant.pk, "key": log.key})
    return "sent"


def notifications_sweep(*, limit: int = 500, now: datetime | None = None) -> int:
    """Beat: send again every notification still `pending` SWEEP_AFTER after it was queued (the send after
    its commit was lost); returns how many. While a row is pending its `claimed_at` holds the sweeper's
    lease, so a row is re-sent at most once per SWEEP_AFTER; delivering claims it as usual (once)."""
    now = now or timezone.now()
    with unscoped("notification sweeper: every merchant's lost sends"):
        rows = claim_due(
            NotificationLog.objects.filter(status=NotificationLog.Status.PENDING, created_at__lte=now - SWEEP_AFTER,
                                           merchant__is_active=True),
            limit=limit, due_field="claimed_at", lease=SWEEP_AFTER, now=now)
    for row in rows:
        enqueue_on_commit("notifications.notification_deliver", merchant_id=row.merchant_id, log_id=row.pk)
    if rows:
        logger.info("notifications.sweep", extra={"resent": len(rows)})
    return len(rows)


def _tell_listeners(merchant: Merchant, log: NotificationLog) -> None:
    """After the row is marked sent: a listener that fails is logged, never a reason to send again."""
    listener = SENT_LISTENERS.get(log.reference.partition(":")[0]) if log.reference else None
    if listener is None:
        return
    try:
        with transaction.atomic():
            listener(merchant=merchant, log=log)
    except Exception:
        logger.exception("notifications.listener.failed", extra={"merchant_id": merchant.pk, "key": log.key})


def _send(log: NotificationLog, merchant: Merchant) -> None:
    context = {**log.context, "subject": log.subject, "merchant_name": merchant.name, "kind": log.kind}
    text = render_to_string(f"notifications/email/{log.kind}.txt", context)
    html = render_to_string(f"notifications/email/{log.kind}.html", context)
    message = EmailMultiAlternatives(subject=log.subject, body=text, to=log.recipients,
                                     headers={"X-Switchboard-Notification": log.key})
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)
