"""Merchants, memberships and API tokens: every write in the accounts app."""

from __future__ import annotations

import hashlib
import logging
import secrets

from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, Membership, Merchant, User
from accounts.registry import onboarding_steps
from accounts.tenancy import tenant_scope, unscoped
from core.errors import NotAuthenticated, NotFound

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "sb_"


def merchant_create(*, name: str, owner: User, currency: str = "USD") -> Merchant:
    """Create a tenant with its owner, then run the onboarding steps other apps declare.

    Onboarding steps (accounts.registry.onboarding_steps, filled from AppConfig.ready()) let
    apps above accounts give a new merchant what it needs (a default location, notification
    settings) without accounts importing them.
    """
    with transaction.atomic():
        merchant = Merchant.objects.create(name=name.strip() or owner.email, currency=currency)
        with tenant_scope(merchant):
            Membership.objects.create(merchant=merchant, user=owner, role=Membership.Role.OWNER)
            for step in onboarding_steps.values():
                step(merchant=merchant)
    logger.info("accounts.merchant.created", extra={"merchant_id": merchant.pk})
    return merchant


def merchant_ensure_for_user(*, user: User, name: str | None = None) -> Merchant:
    """Give a newly signed-up user their own merchant, once (sign-up and social sign-up both call this)."""
    membership = membership_for_user(user)
    if membership is not None:
        return membership.merchant
    default_name = name or (f"{user.first_name}'s shop".strip() if user.first_name else user.email.split("@")[0])
    return merchant_create(name=default_name, owner=user)


def membership_for_user(user: User) -> Membership | None:
    """The membership a signed-in user works in: their oldest one."""
    with unscoped("membership lookup for a signed-in user"):
        return (
            Membership.objects.select_related("merchant")
            .filter(user=user, merchant__is_active=True)
            .order_by("created_at", "id")
            .first()
        )


def _hash_token(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, merchant: Merchant, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token and its plaintext, which is shown once and never stored."""
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        merchant=merchant, user=user, name=name.strip() or "API token", prefix=prefix, key_hash=_hash_token(raw)
    )
    logger.info("accounts.api_token.created", extra={"merchant_id": merchant.pk, "prefix": prefix})
    return token, raw


def api_token_revoke(*, merchant: Merchant, token: ApiToken) -> ApiToken:
    if token.merchant_id != merchant.pk:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        logger.info("accounts.api_token.revoked", extra={"merchant_id": merchant.pk, "prefix": token.prefix})
    return token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """Resolve a presented token to an active ApiToken; None for anything else."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    with unscoped("api token lookup"):
        token = (
            ApiToken.objects.select_related("user", "merchant")
            .filter(key_hash=_hash_token(raw), revoked_at__isnull=True)
            .first()
        )
    if token is None or not token.user.is_active or not token.merchant.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        with unscoped("api token last-used stamp"):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_exchange_password(*, email: str, password: str, name: str = "API token") -> tuple[ApiToken, str]:
    """POST /api/v1/auth/token/: trade credentials for a new token."""
    user = authenticate(email=email.strip().lower(), password=password)
    if user is None:
        raise NotAuthenticated("Email or password is wrong.", code="invalid_credentials")
    membership = membership_for_user(user)
    if membership is None:
        raise NotAuthenticated("This account belongs to no merchant.", code="no_merchant")
    with tenant_scope(membership.merchant):
        return api_token_create(merchant=membership.merchant, user=user, name=name)
