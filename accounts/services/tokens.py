"""Personal API tokens: created, exchanged for a password, authenticated, revoked."""

from __future__ import annotations

import hashlib
import logging
import math
import secrets

from allauth.account import app_settings as allauth_account_settings
from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import ApiToken, Membership, Merchant, User
from accounts.services.audit import audit_record
from accounts.services.merchants import is_owner
from accounts.tenancy import tenant_scope, unscoped
from core.cache import shared_cache_required
from core.errors import NotAuthenticated, NotFound, PermissionDenied, Throttled, ValidationFailed

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "sb_"


def secret_hash(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, merchant: Merchant, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token and its plaintext, which is shown once and never stored."""
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        merchant=merchant, user=user, name=name.strip() or "API token", prefix=prefix, key_hash=secret_hash(raw)
    )
    logger.info("accounts.api_token.created", extra={"merchant_id": merchant.pk, "prefix": prefix})
    audit_record(merchant=merchant, action="api_token.created", actor=user, obj=token)
    return token, raw


def api_token_revoke(*, merchant: Merchant, actor: User, token: ApiToken) -> ApiToken:
    """Owners revoke any token of their merchant; everyone else only their own."""
    if token.merchant_id != merchant.pk:
        raise NotFound()
    if token.user_id != actor.pk and not is_owner(merchant=merchant, user=actor):
        raise PermissionDenied("Only an owner can revoke another member's token.", code="not_owner")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        logger.info("accounts.api_token.revoked", extra={"merchant_id": merchant.pk, "prefix": token.prefix})
        audit_record(merchant=merchant, action="api_token.revoked", actor=actor, obj=token)
    return token


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
            .filter(key_hash=secret_hash(raw), revoked_at__isnull=True, user__is_active=True,
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


def api_token_exchange_password(*, request: HttpRequest, email: str, password: str, name: str = "API token",
                                merchant_id: int | None = None) -> tuple[ApiToken, str]:
    """POST /api/v1/auth/token/: trade credentials for a new token for one of the user's merchants.

    Authentication goes through allauth with the request, so the exchange counts against the same
    `login_failed` limits as the sign-in form (per address and per client IP, on the shared cache):
    past them it is 429 `too_many_login_attempts` with Retry-After, and a shared cache that cannot be
    reached is 503 (a limit we cannot count is not one we may skip).

    Someone in several merchants says which one (`merchant_id`); without it, or with one they do not
    belong to, the exchange is refused naming their merchants (it used to pick the oldest silently).

    When verification is mandatory an unverified address gets no token: otherwise whoever
    pre-registered someone else's address could keep API access to the account its real
    owner later claims.
    """
    email = email.strip().lower()
    with shared_cache_required("Signing in"):
        try:
            user = get_account_adapter(request).authenticate(request, email=email, password=password)
        except DjangoValidationError as exc:
            if exc.code != "too_many_login_attempts":
                raise
            seconds = (exc.params or {}).get("seconds") or 60
            raise Throttled(exc.messages[0], code="too_many_login_attempts", retry_after=seconds,
                            details={"retry_after_seconds": math.ceil(seconds)}) from exc
    if user is None:
        raise NotAuthenticated("Email or password is wrong.", code="invalid_credentials")
    if _email_verification_mandatory() and not EmailAddress.objects.filter(
        user=user, email__iexact=email, verified=True
    ).exists():
        raise PermissionDenied("Verify your email address before requesting an API token.", code="email_unverified")
    membership = _membership_for_token(user=user, merchant_id=merchant_id)
    with tenant_scope(membership.merchant):
        return api_token_create(merchant=membership.merchant, user=user, name=name)


def _membership_for_token(*, user: User, merchant_id: int | None) -> Membership:
    with unscoped("the merchants a user authenticated by password may take a token for"):
        memberships = list(Membership.objects.select_related("merchant")
                           .filter(user=user, merchant__is_active=True).order_by("created_at", "id"))
    if not memberships:
        raise NotAuthenticated("This account belongs to no merchant.", code="no_merchant")
    choices = {"merchants": [{"id": m.merchant_id, "name": m.merchant.name} for m in memberships]}
    if merchant_id is None:
        if len(memberships) > 1:
            raise ValidationFailed("You belong to several merchants: say which one the token is for (`merchant`).",
                                   code="merchant_required", details=choices)
        return memberships[0]
    chosen = next((m for m in memberships if m.merchant_id == merchant_id), None)
    if chosen is None:
        raise ValidationFailed(f"You are not a member of merchant {merchant_id}.", code="unknown_merchant",
                               details=choices)
    return chosen
