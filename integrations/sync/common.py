"""What every sync step shares: the adapter of one integration (its refreshed credentials persisted),
one retry with reloaded credentials on AuthFailed, and the bookkeeping of success, failure and
`needs_reconnect` (stop syncing, notify the merchant once)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from accounts.models import Merchant
from core.http import AuthFailed, ExternalError, Throttled, Transient
from integrations.channels import adapter_for, budget_key_for
from integrations.channels.base import ChannelAdapter
from integrations.models import Integration
from notifications.services import notification_integration_failure

logger = logging.getLogger("integrations.sync")

T = TypeVar("T")
RETRYABLE = (Throttled, Transient)


def _credentials_saver(merchant: Merchant, integration_id: int) -> Callable[[dict], None]:
    """A refreshed token (and the rotated refresh token) goes straight to the row, encrypted, in its own
    small write: losing it would lock us out once the old refresh token is spent."""

    def save(credentials: dict[str, Any]) -> None:
        with transaction.atomic():
            Integration.objects.filter(merchant=merchant, pk=integration_id).update(
                credentials=credentials, updated_at=timezone.now())

    return save


class ChannelSession:
    """One integration's adapter for one run. `call` retries an AuthFailed once with the credentials
    reloaded from the database, when another worker has rotated them meanwhile."""

    def __init__(self, *, merchant: Merchant, integration: Integration) -> None:
        self.merchant = merchant
        self.integration = integration
        self.adapter = self._build(dict(integration.credentials))
        self._reloaded = False

    def _build(self, credentials: dict) -> ChannelAdapter:
        return adapter_for(self.integration.channel, credentials, budget_key=budget_key_for(self.integration),
                           on_credentials_changed=_credentials_saver(self.merchant, self.integration.pk))

    def call(self, operation: Callable[[ChannelAdapter], T]) -> T:
        try:
            return operation(self.adapter)
        except AuthFailed:
            if self._reloaded:
                raise
            self._reloaded = True
            stored = (Integration.objects.filter(merchant=self.merchant, pk=self.integration.pk)
                      .values_list("credentials", flat=True).first())
            if not stored or stored == self.adapter.credentials:
                raise
            self.adapter = self._build(dict(stored))
            return operation(self.adapter)


def checkpoints_update(*, merchant: Merchant, integration: Integration, **changes: Any) -> dict:
    """Merge `changes` into the integration's checkpoints under its row lock, in a transaction of its own
    (a key set to None is removed), so a crash after this keeps what was done."""
    with transaction.atomic():
        row = Integration.objects.select_for_update(of=("self",)).only("checkpoints").get(
            merchant=merchant, pk=integration.pk)
        merged = dict(row.checkpoints or {})
        for key, value in changes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        Integration.objects.filter(merchant=merchant, pk=integration.pk).update(checkpoints=merged,
                                                                                updated_at=timezone.now())
    integration.checkpoints = merged
    return merged


def sync_succeeded(*, merchant: Merchant, integration: Integration) -> None:
    now = timezone.now()
    Integration.objects.filter(merchant=merchant, pk=integration.pk).update(
        last_success_at=now, last_error="", updated_at=now)
    integration.last_success_at, integration.last_error = now, ""
    if (integration.checkpoints or {}).get("last_error_code"):
        checkpoints_update(merchant=merchant, integration=integration, last_error_code=None)


def sync_failed(*, merchant: Merchant, integration: Integration, exc: ExternalError, during: str) -> str:
    """Record a failed call as the integration's last error. AuthFailed also stops its syncs
    (`needs_reconnect`) and tells the merchant, once per time it happens. Returns the error text."""
    now = timezone.now()
    error = f"{during}: {exc.message or exc.__class__.__name__}"[:2000]
    logger.warning("integrations.sync.failed", extra={"merchant_id": merchant.pk, "integration_id": integration.pk,
                                                      "during": during, "error_type": exc.__class__.__name__})
    Integration.objects.filter(merchant=merchant, pk=integration.pk).update(
        last_error=error, last_error_at=now, updated_at=now)
    integration.last_error, integration.last_error_at = error, now
    # The channel's own error code, for the package's doctor (a store whose API is not where it should be).
    code = str(getattr(exc, "code", "") or "")[:64]
    if code != str((integration.checkpoints or {}).get("last_error_code") or ""):
        checkpoints_update(merchant=merchant, integration=integration, last_error_code=code or None)
    if isinstance(exc, AuthFailed):
        integration_needs_reconnect(merchant=merchant, integration=integration, error=error, at=now)
    return error


def integration_needs_reconnect(*, merchant: Merchant, integration: Integration, error: str,
                                at: datetime | None = None) -> bool:
    """The channel refused our credentials for good: stop syncing this store and email the merchant.
    Only the run that moves it from active sends the email, so many failing workers send one."""
    at = at or timezone.now()
    moved = Integration.objects.filter(merchant=merchant, pk=integration.pk,
                                       status=Integration.Status.ACTIVE).update(
        status=Integration.Status.NEEDS_RECONNECT, updated_at=at)
    integration.status = Integration.Status.NEEDS_RECONNECT
    if moved:
        logger.warning("integrations.integration.needs_reconnect",
                       extra={"merchant_id": merchant.pk, "integration_id": integration.pk})
        notification_integration_failure(
            merchant=merchant, kind="sync_failed", reference=f"integration-{integration.pk}-auth-{at:%Y%m%d%H%M%S}",
            summary=f"{integration.name} needs reconnecting",
            detail=f"{integration.name} refused our credentials ({error}). Syncing is paused until you "
                   f"reconnect the store from its integration page.")
    return bool(moved)


def is_active(*, merchant: Merchant, integration_id: int) -> Integration | None:
    """The integration when it may sync (active), else None."""
    return Integration.objects.filter(merchant=merchant, pk=integration_id,
                                      status=Integration.Status.ACTIVE).first()


__all__ = ["RETRYABLE", "ChannelSession", "checkpoints_update", "integration_needs_reconnect",
           "is_active", "sync_failed", "sync_succeeded"]
