"""Merchants, memberships and API tokens: every write in the accounts app."""

from __future__ import annotations

import hashlib
import logging
import secrets

from allauth.account import app_settings as allauth_account_settings
from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import ApiToken, Membership, Merchant, User
from accounts.registry import onboarding_steps
from accounts.tenancy import tenant_scope, unscoped
from core.errors import NotAuthenticated, NotFound, PermissionDenied

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


def api_token_revoke(*, merchant: Merchant, actor: User, token: ApiToken) -> ApiToken:
    """Owners revoke any token of their merchant; everyone else only their own."""
    if token.merchant_id != merchant.pk:
        raise NotFound()
    if token.user_id != actor.pk and not _is_owner(merchant=merchant, user=actor):
        raise PermissionDenied("Only an owner can revoke another member's token.", code="not_owner")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        logger.info("accounts.api_token.revoked", extra={"merchant_id": merchant.pk, "prefix": token.prefix})
    return token


def _is_owner(*, merchant: Merchant, user: User) -> bool:
    with tenant_scope(merchant):
        return Membership.objects.filter(merchant=merchant, user=user, role=Membership.Role.OWNER).exists()


def api_tokens_revoke_for_user(*, user: User, reason: str) -> int:
    """Revoke every active token of a person, in every merchant, at once.

    Called when the credentials the tokens were issued under stop being trusted: a password
    reset or change, allauth wiping the password of an unverified pre-registered account, a
    deactivation. Returns how many tokens died.
    """
    with unscoped(f"revoke a user's tokens in every merchant ({reason})"):
        revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        logger.info("accounts.api_token.revoked_for_user", extra={"user_id": user.pk, "reason": reason,
                                                                  "count": revoked})
    return revoked


def user_deactivate(*, user: User) -> User:
    """Sign a person out of the API for good: inactive, and every token they hold revoked."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        api_tokens_revoke_for_user(user=user, reason="deactivated")
    logger.info("accounts.user.deactivated", extra={"user_id": user.pk})
    return user


def api_token_authenticate(raw: str) -> ApiToken | None:
    """Resolve a presented token to an active ApiToken; None for anything else.

    A token works only while it is unrevoked, its user and merchant are active and its user
    is still a member of its merchant: removing the membership ends API access at once.
    """
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    with unscoped("api token lookup"):
        member = Membership.objects.filter(merchant_id=OuterRef("merchant_id"), user_id=OuterRef("user_id"))
        token = (
            ApiToken.objects.select_related("user", "merchant")
            .filter(key_hash=_hash_token(raw), revoked_at__isnull=True, user__is_active=True,
                    merchant__is_active=True)
            .filter(Exists(member))
            .order_by()
            .first()
        )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        with unscoped("api token last-used stamp"):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def _email_verification_mandatory() -> bool:
    return allauth_account_settings.EMAIL_VERIFICATION == allauth_account_settings.EmailVerificationMethod.MANDATORY


def api_token_exchange_password(*, email: str, password: str, name: str = "API token") -> tuple[ApiToken, str]:
    """POST /api/v1/auth/token/: trade credentials for a new token.

    When verification is mandatory an unverified address gets no token: otherwise whoever
    pre-registered someone else's address could keep API access to the account its real
    owner later claims.
    """
    email = email.strip().lower()
    user = authenticate(email=email, password=password)
    if user is None:
        raise NotAuthenticated("Email or password is wrong.", code="invalid_credentials")
    if _email_verification_mandatory() and not EmailAddress.objects.filter(
        user=user, email__iexact=email, verified=True
    ).exists():
        raise PermissionDenied("Verify your email address before requesting an API token.", code="email_unverified")
    membership = membership_for_user(user)
    if membership is None:
        raise NotAuthenticated("This account belongs to no merchant.", code="no_merchant")
    with tenant_scope(membership.merchant):
        return api_token_create(merchant=membership.merchant, user=user, name=name)
