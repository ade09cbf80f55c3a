"""Integrations' writes: connecting a store, changing its name and push rules, disconnecting it,
testing its connection, and mapping a listing to a product.

Credentials arrive as a dict, are checked by their channel package's validator (integrations.registry),
and are stored encrypted (core.fields.EncryptedJSONField); nothing here logs or returns them.
Background work (the connect job, a sync) is enqueued by task name after commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.models import Merchant, User
from accounts.services.audit import audit_record, credential_changes, field_changes, prefixed
from core.enqueue import enqueue_on_commit
from core.errors import ApplicationError, Conflict, ValidationFailed
from core.http import AuthFailed, ExternalError
from integrations.channels import adapter_for, budget_key_for
from integrations.listings import (  # noqa: F401  (the listing services live there; re-exported for callers)
    Matched,
    listing_create_product,
    listing_map,
    listing_push_retry,
    listings_import_run,
    listings_import_start,
)
from integrations.models import Integration
from integrations.registry import channel_packages
from integrations.sync.common import checkpoints_update
from inventory.selectors import location_list
from jobs.models import WorkerJob
from jobs.services import job_create

logger = logging.getLogger(__name__)

# Settings that change what each listing shows on the channel: changing one pushes the store's listings.
PUSH_SETTINGS = ("buffer_units", "percent", "max_quantity", "zero_at_or_below", "location_external_id", "location_ids")

CONNECT_KIND = "integrations.connect"
SYNC_KIND = "integrations.sync"
NAME_MAX = 120

# The push rules and other per-integration settings a merchant may set: name -> (min, max, nullable).
_INT_SETTINGS: dict[str, tuple[int, int, bool]] = {
    "backfill_days": (0, 365, False),
    "buffer_units": (0, 1_000_000, False),
    "percent": (0, 100, False),
    "max_quantity": (0, 1_000_000, True),
    "zero_at_or_below": (0, 1_000_000, True),
}
_TEXT_SETTINGS = {"location_external_id": 64}


@dataclass
class Connecting:
    """A store just connected (or reconnected) and the job that finishes connecting it."""

    integration: Integration
    job: WorkerJob


@dataclass
class ConnectionTest:
    """What a connection test found; `error` is the channel's reason when it failed."""

    ok: bool
    shop_name: str = ""
    scopes: list[str] = field(default_factory=list)
    missing_scopes: list[str] = field(default_factory=list)
    locations: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    # what the channel's live checks found ({code, severity, message, fix}); the doctor shows them too
    findings: list[dict[str, str]] = field(default_factory=list)


def error_text(exc: ApplicationError) -> str:
    """The message and the fields it names, as one line (a flash message, a refused install's reason)."""
    fields = (exc.details or {}).get("fields") or {}
    parts = []
    for name, problems in fields.items():
        if isinstance(problems, dict):  # credentials nest their own fields
            parts += [f"{sub.replace('_', ' ')}: {' '.join(p)}" for sub, p in problems.items()]
        else:
            parts.append(f"{name.replace('_', ' ')}: {' '.join(problems)}")
    return f"{exc.message} {'; '.join(parts)}".strip()


def _fields_error(message: str, errors: dict[str, list[str]]) -> ValidationFailed:
    return ValidationFailed(message, details={"fields": errors})


def _clean_name(name: Any) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text or "\x00" in text or len(text) > NAME_MAX:
        raise _fields_error("The name is not valid.", {"name": [f"Give the store a name of 1 to {NAME_MAX} characters."]})
    return text


def _clean_credentials(channel: str, credentials: Any, *, from_install: bool = False) -> dict[str, Any]:
    package = channel_packages.get(channel)
    validator = package.credentials_validate if package is not None else None
    if validator is None:
        raise _fields_error("This channel cannot be connected yet.", {"channel": [f"{channel!r} has no client yet."]})
    if not isinstance(credentials, dict):
        raise _fields_error("The credentials are not valid.", {"credentials": ["Send the credentials as an object."]})
    try:
        return validator(credentials, from_install=True) if from_install else validator(credentials)
    except ValidationFailed as exc:  # the channel names its fields; the API's fields nest them under credentials
        raise _fields_error(exc.message, {"credentials": exc.details.get("fields", {})}) from None


def _location_ids(merchant: Merchant | None, value: Any) -> list[int] | None:
    """`location_ids`: our locations that feed the store, or None (null, []) for all of them. Ids that are
    not the merchant's locations are refused as one would be another merchant's."""
    if value is None or value == []:
        return None
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise ValueError("A list of location ids, or null for all locations.")
    known = set(location_list(merchant=merchant).values_list("pk", flat=True)) if merchant is not None else set()
    unknown = sorted(set(value) - known)
    if unknown:
        raise ValueError(ngettext("Unknown location id: %(ids)s.", "Unknown location ids: %(ids)s.", len(unknown))
                         % {"ids": ", ".join(map(str, unknown))})
    return sorted(set(value))


def integration_settings_clean(*, current: dict[str, Any], changes: Any, merchant: Merchant | None = None,
                               ) -> dict[str, Any]:
    """The settings after `changes` (a partial dict: a key set to null clears a nullable rule), or
    ValidationFailed naming every bad key. `location_ids` needs the merchant whose locations they are."""
    if not isinstance(changes, dict):
        raise _fields_error("The settings are not valid.", {"settings": ["Send the settings as an object."]})
    merged, errors = dict(current), {}
    for key, value in changes.items():
        if key in _INT_SETTINGS:
            low, high, nullable = _INT_SETTINGS[key]
            if value is None and nullable:
                merged.pop(key, None)
            elif isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
                merged[key] = value
            else:
                errors[key] = [f"A whole number from {low} to {high}{' or null' if nullable else ''}."]
        elif key == "location_ids":
            try:
                ids = _location_ids(merchant, value)
            except ValueError as exc:
                errors[key] = [str(exc)]
                continue
            if ids is None:
                merged.pop(key, None)
            else:
                merged[key] = ids
        elif key in _TEXT_SETTINGS:
            if value is None or value == "":
                merged.pop(key, None)
            elif isinstance(value, str) and "\x00" not in value and len(value) <= _TEXT_SETTINGS[key]:
                merged[key] = value.strip()
            else:
                errors[key] = [f"Text of at most {_TEXT_SETTINGS[key]} characters, or null."]
        else:
            errors[key] = ["Unknown setting."]
    if errors:
        raise _fields_error("The settings are not valid.", errors)
    return merged


def _connect_job(*, merchant: Merchant, actor: User | None, integration: Integration) -> WorkerJob:
    return job_create(merchant=merchant, kind=CONNECT_KIND, description=f"Connect {integration.name}",
                      params={"integration_id": integration.pk}, created_by=actor, max_attempts=3,
                      task_name="integrations.integration_connect", task_kwargs={"integration_id": integration.pk})


@transaction.atomic
def integration_create(*, merchant: Merchant, actor: User | None, channel: str, name: str,
                       credentials: dict[str, Any], from_install: bool = False) -> Connecting:
    """Store a new connection once its credentials have the channel's form; the connect job (test,
    listings, webhooks, backfill) starts after commit. A merchant may connect several stores of one channel."""
    if not isinstance(channel, str) or channel not in channel_packages:
        raise _fields_error("Unknown channel.", {"channel": ["Choose a registered channel."]})
    clean_name = _clean_name(name)
    cleaned = _clean_credentials(channel, credentials, from_install=from_install)
    integration = Integration.objects.create(merchant=merchant, channel=channel, name=clean_name, credentials=cleaned,
                                             account_ref=channel_packages[channel].account_ref(cleaned)[:255])
    logger.info("integrations.integration.created",
                extra={"merchant_id": merchant.pk, "integration_id": integration.pk, "channel": channel})
    audit_record(merchant=merchant, action="integration.connected", actor=actor, obj=integration,
                 changes={"channel": {"old": None, "new": channel}, **credential_changes({}, cleaned)})
    return Connecting(integration=integration, job=_connect_job(merchant=merchant, actor=actor, integration=integration))


def _locked(merchant: Merchant, integration: Integration) -> Integration:
    return Integration.objects.select_for_update(of=("self",)).get(merchant=merchant, pk=integration.pk)


@transaction.atomic
def integration_update(*, merchant: Merchant, actor: User | None, integration: Integration,
                       name: str | None = None, settings: dict[str, Any] | None = None,
                       credentials: dict[str, Any] | None = None, from_install: bool = False) -> Integration:
    """Rename, change settings and push rules, or replace the credentials (a reconnect: the store
    becomes active again and the connect job runs anew; `from_install` for credentials from the channel's install flow)."""
    row = _locked(merchant, integration)
    if row.status == Integration.Status.DISCONNECTED:
        raise Conflict("This store is disconnected; connect it again instead.", code="integration_disconnected")
    changed = ["updated_at"]
    audited_before = {"name": row.name, "settings": dict(row.settings or {}), "credentials": dict(row.credentials or {})}
    if name is not None:
        row.name = _clean_name(name)
        changed.append("name")
    push_again = False
    if settings is not None:
        before = dict(row.settings or {})
        row.settings = integration_settings_clean(current=row.settings, changes=settings, merchant=merchant)
        changed.append("settings")
        push_again = any(before.get(key) != row.settings.get(key) for key in PUSH_SETTINGS)
    if credentials is not None:
        row.credentials = credentials_keep_previous_secret(
            before=row.credentials, after=_clean_credentials(row.channel, credentials, from_install=from_install))
        row.account_ref = channel_packages[row.channel].account_ref(row.credentials)[:255]
        row.status = Integration.Status.ACTIVE
        changed += ["credentials", "account_ref", "status"]
    row.save(update_fields=changed)
    audit_record(merchant=merchant, action="integration.reconnected" if credentials is not None else "integration.changed",
                 actor=actor, obj=row, changes={
                     **field_changes({"name": audited_before["name"]}, {"name": row.name}),
                     **prefixed(field_changes(audited_before["settings"], row.settings or {}), "settings"),
                     **credential_changes(audited_before["credentials"], row.credentials)})
    if credentials is not None:
        logger.info("integrations.integration.credentials_replaced",
                    extra={"merchant_id": merchant.pk, "integration_id": row.pk})
        _connect_job(merchant=merchant, actor=actor, integration=row)
    elif push_again:  # new rules or another location: the channel should show the new quantities now
        enqueue_on_commit("integrations.listings_push", merchant_id=merchant.pk, integration_id=row.pk)
    return row


@transaction.atomic
def integration_disconnect(*, merchant: Merchant, actor: User | None, integration: Integration) -> Integration:
    """Stop syncing the store and remove its webhook subscriptions (after commit, by the sync engine).
    Its orders and listings stay (orders keep their integration)."""
    row = _locked(merchant, integration)
    if row.status != Integration.Status.DISCONNECTED:
        old_status, row.status = row.status, Integration.Status.DISCONNECTED
        row.save(update_fields=["status", "updated_at"])
        enqueue_on_commit("integrations.integration_webhooks_remove", merchant_id=merchant.pk, integration_id=row.pk)
        logger.info("integrations.integration.disconnected",
                    extra={"merchant_id": merchant.pk, "integration_id": row.pk})
        audit_record(merchant=merchant, action="integration.disconnected", actor=actor, obj=row,
                     changes={"status": {"old": old_status, "new": row.status}})
    return row


def credentials_keep_previous_secret(*, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """A replaced `client_secret` (the key a channel signs its webhooks with) is kept as
    `previous_client_secret` with the moment it was replaced: a channel may sign with the old secret for
    up to an hour after a rotation, and the webhook receiver accepts it for that hour."""
    old, new = (before or {}).get("client_secret"), after.get("client_secret")
    if old and new and old != new:
        return {**after, "previous_client_secret": old, "client_secret_rotated_at": timezone.now().isoformat()}
    return after


@transaction.atomic
def integration_uninstalled(*, merchant: Merchant, integration: Integration) -> bool:
    """The store removed our app: disconnected, and what its package forgets on uninstall forgotten (the
    tokens it revoked anyway). Nothing is sent to the channel (the uninstall removed our subscriptions).
    False if it already was."""
    row = _locked(merchant, integration)
    package = channel_packages.get(row.channel)
    forget = set(package.forget_on_uninstall) if package is not None else set()
    forgotten = {k: v for k, v in (row.credentials or {}).items() if k not in forget}
    if row.status == Integration.Status.DISCONNECTED and forgotten == row.credentials:
        return False
    row.status = Integration.Status.DISCONNECTED
    row.credentials = forgotten
    row.save(update_fields=["status", "credentials", "updated_at"])
    logger.info("integrations.integration.uninstalled", extra={"merchant_id": merchant.pk, "integration_id": row.pk})
    return True


@transaction.atomic
def integration_sync(*, merchant: Merchant, actor: User | None, integration: Integration) -> WorkerJob:
    """"Sync now": a job the merchant can watch (listings, webhooks and orders since the checkpoint:
    integrations.sync.SYNC_STEPS)."""
    if integration.status == Integration.Status.DISCONNECTED:
        raise Conflict("This store is disconnected.", code="integration_disconnected")
    return job_create(merchant=merchant, kind=SYNC_KIND, description=f"Sync {integration.name}",
                      params={"integration_id": integration.pk}, created_by=actor, max_attempts=3,
                      task_name="integrations.integration_sync", task_kwargs={"integration_id": integration.pk})


def _credentials_saver(merchant: Merchant, integration_id: int):
    """Where an adapter's refreshed token goes: straight to the row, encrypted, in its own write."""

    def save(credentials: dict[str, Any]) -> None:
        Integration.objects.filter(merchant=merchant, pk=integration_id).update(
            credentials=credentials, updated_at=timezone.now())

    return save


def _connection_test(report: Any) -> ConnectionTest:
    """A successful test from the adapter's ConnectionReport."""
    return ConnectionTest(
        ok=True, shop_name=report.shop_name, scopes=list(report.scopes), missing_scopes=list(report.missing_scopes),
        locations=[{"external_id": loc.external_id, "name": loc.name, "is_primary": loc.is_primary}
                   for loc in report.locations],
        findings=[dict(zip(("code", "severity", "message", "fix"), found, strict=True)) for found in report.findings],
    )


def integration_test_connection(*, merchant: Merchant, integration: Integration) -> ConnectionTest:
    """Ask the channel who we are and what we may do, in one short attempt (a merchant is waiting).
    Refused credentials mark the store `needs_reconnect`; a success marks it active again and records
    the time. A failure is told in the package's words, not as an HTTP line."""
    if integration.status == Integration.Status.DISCONNECTED:
        raise Conflict("This store is disconnected.", code="integration_disconnected")
    now = timezone.now()
    try:
        adapter = adapter_for(integration.channel, dict(integration.credentials),
                              budget_key=budget_key_for(integration),
                              on_credentials_changed=_credentials_saver(merchant, integration.pk), interactive=True)
        report = adapter.test_connection()
    except ExternalError as exc:
        error = channel_packages[integration.channel].describe_error(exc)[:2000]
        fields: dict[str, Any] = {"last_error": error, "last_error_at": now, "updated_at": now}
        if isinstance(exc, AuthFailed):
            fields["status"] = Integration.Status.NEEDS_RECONNECT
        Integration.objects.filter(merchant=merchant, pk=integration.pk).update(**fields)
        logger.warning("integrations.connection.failed",
                       extra={"merchant_id": merchant.pk, "integration_id": integration.pk,
                              "error_type": exc.__class__.__name__})
        return ConnectionTest(ok=False, error=error)
    Integration.objects.filter(merchant=merchant, pk=integration.pk).update(
        status=Integration.Status.ACTIVE, last_success_at=now, last_error="", updated_at=now)
    checkpoints_update(merchant=merchant, integration=integration,
                       connection_findings=[list(found) for found in report.findings])
    return _connection_test(report)


def credentials_test(*, merchant: Merchant, channel: str, credentials: dict[str, Any]) -> ConnectionTest:
    """Test credentials a merchant typed before anything is stored (the connect page's "Test connection"):
    the form is checked as integration_create checks it, then the channel is asked who we are, once and
    briefly, and a refusal is told in the package's words. Nothing is written; a refresh the channel hands back is dropped with the unsaved credentials."""
    if not isinstance(channel, str) or channel not in channel_packages:
        raise _fields_error("Unknown channel.", {"channel": ["Choose a registered channel."]})
    cleaned = _clean_credentials(channel, credentials)
    try:
        adapter = adapter_for(channel, cleaned, budget_key=f"merchant:{merchant.pk}:credentials_test",
                              on_credentials_changed=lambda changed: None, interactive=True)
        report = adapter.test_connection()
    except ExternalError as exc:
        logger.info("integrations.credentials_test.failed",
                    extra={"merchant_id": merchant.pk, "channel": channel, "error_type": exc.__class__.__name__})
        return ConnectionTest(ok=False, error=channel_packages[channel].describe_error(exc)[:2000])
    return _connection_test(report)
