"""Carrier accounts: connected only after their credentials answered a test call ("test connection"
before saving), credentials encrypted and never returned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import Merchant
from accounts.services import require_owner
from accounts.services.audit import audit_record, credential_changes, field_changes
from core.errors import ExternalServiceUnavailable, ValidationFailed
from core.http import AuthFailed, ExternalError, Rejected, Throttled
from core.receivers import webhook_path
from labels.carriers.base import CarrierAdapter, ConnectionInfo
from labels.models import CarrierAccount
from labels.registry import CarrierPackage, carrier_package_get, carrier_packages

NAME_MAX = 120
TEST_TIMEOUT = 10.0  # seconds: one short attempt while the merchant waits


def carrier_package(carrier: str) -> CarrierPackage:
    package = carrier_package_get(carrier)
    if package is None:
        raise ValidationFailed(f"Unknown carrier {carrier!r}.", code="unknown_carrier",
                               details={"fields": {"carrier": f"One of: {', '.join(carrier_packages.keys())}."}})
    return package


def carrier_adapter(account: CarrierAccount, *, timeout: float | None = None) -> CarrierAdapter:
    """The account's adapter, built from its decrypted credentials (never logged)."""
    package = carrier_package(account.carrier)
    return package.adapter(account.credentials, budget_key=f"carrier:{account.pk}", timeout=timeout)


def carrier_account_test(*, carrier: str, credentials: Mapping[str, Any]) -> ConnectionInfo:
    """One short call with these credentials. Refused credentials or a refused call are a 400 in the
    carrier's words; a carrier that does not answer is a 503 (nothing is wrong with what was typed)."""
    package = carrier_package(carrier)
    cleaned = package.credentials_validate(credentials)
    try:
        adapter = package.adapter(cleaned, budget_key=f"carrier-test:{carrier}", timeout=TEST_TIMEOUT)
        return adapter.test_connection()
    except (AuthFailed, Rejected) as exc:
        raise ValidationFailed(package.describe_error(exc), code="carrier_refused",
                               details={"fields": {"credentials": package.describe_error(exc)}})
    except ExternalError as exc:
        raise ExternalServiceUnavailable(package.describe_error(exc), code="carrier_unavailable",
                                         retry_after=exc.retry_after if isinstance(exc, Throttled) else 30)


def _name_clean(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or "\x00" in name:
        raise ValidationFailed("Give the account a name (at most 120 characters).",
                               details={"fields": {"name": "Required, at most 120 characters."}})
    return name


def carrier_account_create(*, merchant: Merchant, actor, carrier: str, name: str,
                           credentials: Mapping[str, Any]) -> CarrierAccount:
    """Owners connect accounts (they spend the merchant's money). The credentials are tested first: an
    account that cannot answer is never saved."""
    require_owner(merchant=merchant, actor=actor, action="connect a carrier account")
    name = _name_clean(name)
    package = carrier_package(carrier)
    cleaned = package.credentials_validate(credentials)
    carrier_account_test(carrier=carrier, credentials=cleaned)
    with transaction.atomic():
        account = CarrierAccount.objects.create(merchant=merchant, carrier=carrier, name=name, credentials=cleaned)
        audit_record(merchant=merchant, action="carrier_account.connected", actor=actor, obj=account,
                     changes={"carrier": {"old": None, "new": carrier}, **credential_changes({}, cleaned)})
    carrier_webhooks_ensure(account=account)
    return account


def carrier_webhooks_ensure(*, account: CarrierAccount) -> bool:
    """Have the carrier deliver tracking events to the account's inbox address (absolute, under
    WEBHOOK_BASE_URL), signed with the account's own secret. Without WEBHOOK_BASE_URL there is no public
    address to give: nothing is registered (ShipStation's tracking is polled instead). A carrier that
    refuses is recorded on the account (`last_error`), not raised: the account works without events."""
    base = (getattr(settings, "WEBHOOK_BASE_URL", "") or "").rstrip("/")
    package = carrier_package(account.carrier)
    if not base or package.receiver is None:
        return False
    url = base + webhook_path(kind="carrier", owner=account)
    try:
        carrier_adapter(account, timeout=TEST_TIMEOUT).webhooks_ensure(url, secret=account.webhook_secret)
    except ExternalError as exc:
        account.last_error = f"Tracking events are not set up: {package.describe_error(exc)}"
        account.save(update_fields=["last_error", "updated_at"])
        return False
    return True


def carrier_account_update(*, merchant: Merchant, actor, account: CarrierAccount, name: str | None = None,
                           credentials: Mapping[str, Any] | None = None) -> CarrierAccount:
    require_owner(merchant=merchant, actor=actor, action="change a carrier account")
    changed = []
    before = {"name": account.name, "credentials": dict(account.credentials or {})}
    if name is not None:
        account.name = _name_clean(name)
        changed.append("name")
    if credentials is not None:
        package = carrier_package(account.carrier)
        cleaned = package.credentials_validate(credentials)
        carrier_account_test(carrier=account.carrier, credentials=cleaned)
        account.credentials = cleaned
        account.status = CarrierAccount.Status.ACTIVE
        account.last_error = ""
        changed += ["credentials", "status", "last_error"]
    if changed:
        with transaction.atomic():
            account.save(update_fields=[*changed, "updated_at"])
            audit_record(merchant=merchant, action="carrier_account.changed", actor=actor, obj=account, changes={
                **field_changes({"name": before["name"]}, {"name": account.name}),
                **credential_changes(before["credentials"], account.credentials)})
    return account


def carrier_account_disconnect(*, merchant: Merchant, actor, account: CarrierAccount) -> CarrierAccount:
    """Stop using the account; its labels (and what they cost) stay, its credentials are forgotten."""
    require_owner(merchant=merchant, actor=actor, action="disconnect a carrier account")
    old_status, forgotten = account.status, credential_changes(account.credentials, {})
    account.status = CarrierAccount.Status.DISCONNECTED
    account.credentials = {}
    with transaction.atomic():
        account.save(update_fields=["status", "credentials", "updated_at"])
        audit_record(merchant=merchant, action="carrier_account.removed", actor=actor, obj=account,
                     changes={"status": {"old": old_status, "new": account.status}, **forgotten})
    return account
