"""Installs whose credentials arrive server to server (issue 15 §1): the channel POSTs them to our keys URL
with no session and no login, naming the install only by the opaque id we gave it. So the install is a row
(PendingInstall), not a session entry: started by the merchant, found again by the id's hash, completed at
most once before it expires, and read back when the merchant's browser returns.

Nothing here names a channel: the package's InstallFlow reads the posted body (`posted_state`,
`complete_posted`) and the generic connect services store what it gives.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Merchant, User
from accounts.tenancy import tenant_scope, unscoped
from core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from integrations import services
from integrations.models import Integration, PendingInstall
from integrations.registry import InstallRefused, channel_packages

logger = logging.getLogger(__name__)

PENDING_INSTALL_TTL = timedelta(minutes=30)  # an approval takes a minute; a tab left open is started again
PRUNE_AFTER = timedelta(days=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def install_pending_start(*, merchant: Merchant, user: User | None, channel: str, data: dict[str, Any],
                          name: str, reconnect_id: int | None = None) -> str:
    """A new pending install; returns its id (the only copy: the row keeps its hash). The merchant's rows
    expired for a day are removed on the way."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    PendingInstall.objects.filter(merchant=merchant, expires_at__lt=now - PRUNE_AFTER).delete()
    PendingInstall.objects.create(merchant=merchant, user=user, channel=channel, token_hash=_hash(token),
                                  data={"form": data, "name": name, "reconnect": reconnect_id},
                                  expires_at=now + PENDING_INSTALL_TTL)
    return token


class InstallNotFound(NotFound):
    code = "install_not_found"


class InstallUsed(Conflict):
    code = "install_already_used"


class InstallExpired(ValidationFailed):
    code = "install_expired"


class InstallCredentialsRefused(ValidationFailed):
    code = "install_credentials_refused"


def install_credentials_receive(*, channel: str, body: bytes, content_type: str) -> Integration:
    """The channel's server-to-server delivery of a store's credentials: the install it names must exist
    for this channel, not have expired and not have completed; the package checks the credentials (what
    they allow included) and the store is connected (or reconnected) for the merchant who started it.
    Refused: an ApplicationError in the common shape, and nothing stored but the refusal on the install
    (used up, with its reason for the merchant's browser coming back)."""
    package = channel_packages.get(channel)
    if package is None or package.install is None or not package.install.credentials_by_post:
        raise NotFound("This channel has no install that delivers credentials here.")
    try:
        token = package.install.posted_state(body, content_type)
    except InstallRefused as exc:
        raise ValidationFailed(str(exc), code="install_body_invalid") from None
    failure: ApplicationError | None = None
    integration: Integration | None = None
    with transaction.atomic(), unscoped("an install's credentials arrive with no session: found by its id"):
        row = (PendingInstall.objects.select_for_update(of=("self",)).select_related("merchant", "user")
               .filter(token_hash=_hash(token), channel=channel).first())
        if row is None:
            raise InstallNotFound("No install was started with this id.")
        if row.used_at is not None:
            raise InstallUsed("This install has already completed; start a new one.")
        data = row.data or {}
        merchant = row.merchant
        if row.expires_at <= timezone.now():
            failure = InstallExpired("This install took too long; start a new one.")
        else:
            try:
                credentials = package.install(data.get("form") or {}).complete_posted(body, content_type)
            except InstallRefused as exc:
                failure = InstallCredentialsRefused(str(exc))
        if failure is None:
            try:
                with transaction.atomic(), tenant_scope(merchant):
                    if data.get("reconnect"):
                        integration = services.integration_update(
                            merchant=merchant, actor=row.user, credentials=credentials, from_install=True,
                            integration=Integration.objects.get(merchant=merchant, pk=int(data["reconnect"])))
                    else:
                        integration = services.integration_create(
                            merchant=merchant, actor=row.user, channel=channel,
                            name=str(data.get("name") or channel), credentials=credentials,
                            from_install=True).integration
            except Integration.DoesNotExist:
                failure = InstallNotFound("The store to reconnect no longer exists.")
            except ApplicationError as exc:
                failure = exc
        PendingInstall.objects.filter(pk=row.pk).update(
            used_at=timezone.now(), integration=integration,
            error=services.error_text(failure)[:500] if failure is not None else "")
    if failure is not None:
        logger.warning("integrations.install.refused", extra={"merchant_id": merchant.pk, "channel": channel,
                                                              "code": failure.code})
        raise failure
    logger.info("integrations.install.completed", extra={"merchant_id": merchant.pk, "channel": channel,
                                                          "integration_id": integration.pk})
    return integration


@dataclass(frozen=True)
class Returned:
    """What the merchant's browser finds on coming back: the store connected, or why not."""

    integration: Integration | None
    error: str


def install_pending_returned(*, merchant: Merchant, channel: str, token: str) -> Returned:
    """The install the returning browser names, for this merchant and channel only (NotFound otherwise)."""
    row = (PendingInstall.objects.select_related("integration")
           .filter(merchant=merchant, channel=channel, token_hash=_hash(token or "")).first()) if token else None
    if row is None:
        raise InstallNotFound("No install was started with this id.")
    if row.integration is not None:
        return Returned(integration=row.integration, error="")
    if row.error:
        return Returned(integration=None, error=row.error)
    if row.expires_at <= timezone.now():
        return Returned(integration=None, error="the install took too long")
    return Returned(integration=None, error="the store did not send the keys")
