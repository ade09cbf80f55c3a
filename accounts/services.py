"""Merchants, memberships and API tokens: every write in the accounts app."""

from __future__ import annotations

import hashlib
import logging
import secrets
import zoneinfo
from datetime import timedelta
from functools import lru_cache
from typing import Any

from allauth.account import app_settings as allauth_account_settings
from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, Invitation, Membership, Merchant, User
from accounts.registry import onboarding_steps
from accounts.tenancy import tenant_scope, unscoped
from core.address import address_clean
from core.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from core.iso_codes import CURRENCIES

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


def membership_for_user(user: User, merchant_id: int | None = None) -> Membership | None:
    """The membership a signed-in user works in: the one for `merchant_id` (the merchant they
    chose in this session) while it still exists, else their oldest one.

    Looked up on every request, so a removed membership ends access at the next request.
    """
    with unscoped("membership lookup for a signed-in user"):
        memberships = Membership.objects.select_related("merchant").filter(user=user, merchant__is_active=True)
        if merchant_id is not None:
            chosen = memberships.filter(merchant_id=merchant_id).order_by().first()
            if chosen is not None:
                return chosen
        return memberships.order_by("created_at", "id").first()


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


# --- Team: roles, removal, invitations ------------------------------------------------------

INVITATION_TTL = timedelta(days=7)
INVITATION_MAIL_TEMPLATE = "account/email/team_invitation"


def _require_owner(*, merchant: Merchant, actor: User, action: str) -> None:
    if not _is_owner(merchant=merchant, user=actor):
        raise PermissionDenied(f"Only an owner can {action}.", code="not_owner")


def _role_clean(role: str) -> str:
    if role not in Membership.Role.values:
        raise ValidationFailed("Choose a role: owner or staff.", code="invalid_role", details={"role": role})
    return role


def _owners_and_member_locked(*, merchant: Merchant, membership_pk: int) -> tuple[list[Membership], Membership]:
    """Every owner membership and the one being changed, locked together in id order (one lock pass):
    two owners demoting each other at once must not both succeed and leave the merchant with none."""
    rows = list(
        Membership.objects.select_for_update(of=("self",))
        .filter(Q(role=Membership.Role.OWNER) | Q(pk=membership_pk), merchant=merchant)
        .order_by("id")
    )
    member = next((m for m in rows if m.pk == membership_pk), None)
    if member is None:
        raise NotFound("No such member.")
    return [m for m in rows if m.role == Membership.Role.OWNER], member


def membership_role_change(*, merchant: Merchant, actor: User, membership: Membership, role: str) -> Membership:
    """Owners change anyone's role, their own included, as long as one owner remains."""
    _require_owner(merchant=merchant, actor=actor, action="change roles")
    if membership.merchant_id != merchant.pk:
        raise NotFound("No such member.")
    role = _role_clean(role)
    with transaction.atomic():
        owners, membership = _owners_and_member_locked(merchant=merchant, membership_pk=membership.pk)
        if membership.role == role:
            return membership
        if membership.role == Membership.Role.OWNER and len(owners) <= 1:
            raise Conflict("A merchant needs at least one owner: make someone else an owner first.",
                           code="last_owner")
        membership.role = role
        membership.save(update_fields=["role"])
    logger.info("accounts.membership.role_changed",
                extra={"merchant_id": merchant.pk, "membership_id": membership.pk, "role": role})
    return membership


def membership_remove(*, merchant: Merchant, actor: User, membership: Membership, by_staff: bool = False) -> int:
    """Take a person out of the merchant: the membership goes and every API token they hold
    for this merchant is revoked (tokens for their other merchants stay). Their browser session
    loses the merchant at its next request, because the middleware looks the membership up on
    every request. Returns how many tokens were revoked. `by_staff`: our staff in the Django admin,
    who are not the merchant's owners; every other rule (the last owner stays, tokens die) holds."""
    if by_staff:
        if not actor.is_staff:
            raise PermissionDenied("Only staff can remove members from the admin.", code="not_staff")
    else:
        _require_owner(merchant=merchant, actor=actor, action="remove members")
    if membership.merchant_id != merchant.pk:
        raise NotFound("No such member.")
    with transaction.atomic():
        owners, membership = _owners_and_member_locked(merchant=merchant, membership_pk=membership.pk)
        if membership.role == Membership.Role.OWNER and len(owners) <= 1:
            raise Conflict("The last owner cannot be removed: make someone else an owner first.", code="last_owner")
        revoked = ApiToken.objects.filter(merchant=merchant, user_id=membership.user_id,
                                          revoked_at__isnull=True).update(revoked_at=timezone.now())
        membership.delete()
    logger.info("accounts.membership.removed", extra={"merchant_id": merchant.pk, "user_id": membership.user_id,
                                                      "tokens_revoked": revoked})
    return revoked


def _email_clean(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed("Enter a valid email address.", code="invalid_email", details={"email": email[:254]})
    return email


def _issue_key(invitation: Invitation) -> str:
    raw = secrets.token_urlsafe(32)
    invitation.key_hash = _hash_token(raw)
    invitation.expires_at = timezone.now() + INVITATION_TTL
    invitation.sent_at = None
    return raw


def invitation_create(*, merchant: Merchant, actor: User, email: str, role: str, base_url: str) -> Invitation:
    """Invite an address with a role and email it a link valid for INVITATION_TTL.

    Inviting an address that already has an open invitation re-issues that one (new link, new
    expiry, the role now asked for) instead of piling up a second. `base_url` is the site's
    scheme and host, which only the request knows.
    """
    _require_owner(merchant=merchant, actor=actor, action="invite people")
    email = _email_clean(email)
    role = _role_clean(role)
    try:
        with transaction.atomic():
            if Membership.objects.filter(merchant=merchant, user__email__iexact=email).exists():
                raise ValidationFailed(f"{email} is already a member of this team.", code="already_member",
                                       details={"email": email})
            invitation = (
                Invitation.objects.select_for_update()
                .filter(merchant=merchant, email=email, accepted_at__isnull=True, revoked_at__isnull=True)
                .order_by().first()
            )
            if invitation is None:
                invitation = Invitation(merchant=merchant, email=email)
            invitation.role = role
            invitation.invited_by = actor
            raw = _issue_key(invitation)
            invitation.save()
            _invitation_mail_on_commit(invitation=invitation, raw=raw, base_url=base_url)
    except IntegrityError:
        raise Conflict("An invitation to this address was just sent; reload the page.", code="invitation_exists")
    logger.info("accounts.invitation.created", extra={"merchant_id": merchant.pk, "invitation_id": invitation.pk})
    return invitation


def invitation_state(invitation: Invitation) -> str:
    """open, accepted, revoked or expired: what the link does now."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= timezone.now():
        return "expired"
    return "open"


def _open_invitation_locked(*, merchant: Merchant, invitation: Invitation, action: str) -> Invitation:
    if invitation.merchant_id != merchant.pk:
        raise NotFound("No such invitation.")
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk, merchant=merchant)
    state = invitation_state(invitation)
    if state in ("accepted", "revoked"):
        raise Conflict(f"This invitation was {state} and cannot be {action}.", code=f"invitation_{state}")
    return invitation


def invitation_resend(*, merchant: Merchant, actor: User, invitation: Invitation, base_url: str) -> Invitation:
    """Send a new link (the old one stops working) valid for another INVITATION_TTL; works on
    an expired invitation too, which is the usual reason to resend."""
    _require_owner(merchant=merchant, actor=actor, action="resend invitations")
    with transaction.atomic():
        invitation = _open_invitation_locked(merchant=merchant, invitation=invitation, action="resent")
        raw = _issue_key(invitation)
        invitation.save(update_fields=["key_hash", "expires_at", "sent_at"])
        _invitation_mail_on_commit(invitation=invitation, raw=raw, base_url=base_url)
    logger.info("accounts.invitation.resent", extra={"merchant_id": merchant.pk, "invitation_id": invitation.pk})
    return invitation


def invitation_revoke(*, merchant: Merchant, actor: User, invitation: Invitation) -> Invitation:
    _require_owner(merchant=merchant, actor=actor, action="revoke invitations")
    with transaction.atomic():
        invitation = _open_invitation_locked(merchant=merchant, invitation=invitation, action="revoked")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    logger.info("accounts.invitation.revoked", extra={"merchant_id": merchant.pk, "invitation_id": invitation.pk})
    return invitation


def invitation_find(raw: str) -> Invitation | None:
    """The invitation a link's key belongs to, whatever its state (None for a key we never issued).
    Runs before any scope exists: the key is the credential, as a webhook token is."""
    if not raw or len(raw) > 100:
        return None
    with unscoped("invitation link lookup"):
        return Invitation.objects.select_related("merchant", "invited_by").filter(
            key_hash=_hash_token(raw)).order_by().first()


def invitation_matches_user(invitation: Invitation, user: User) -> bool:
    """Whether the signed-in person owns the invited address (their sign-in or a verified address)."""
    email = invitation.email
    if user.email.lower() == email.lower():
        return True
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """The invited person joins: only while the invitation is open, only as the address it was
    sent to (the link proves that mailbox, not whoever is signed in), once.

    Someone who is a member already keeps their role; the invitation is used up either way.
    """
    with transaction.atomic(), unscoped("accepting an invitation from its link"):
        invitation = Invitation.objects.select_for_update().select_related("merchant").get(pk=invitation.pk)
        state = invitation_state(invitation)
        if state == "accepted":
            raise Conflict("This invitation has already been used.", code="invitation_accepted")
        if state == "revoked":
            raise Conflict("This invitation was withdrawn by the merchant.", code="invitation_revoked")
        if state == "expired":
            raise Conflict("This invitation has expired. Ask the owner to send a new one.", code="invitation_expired")
        if not invitation.merchant.is_active:
            raise Conflict("This merchant account is closed.", code="merchant_inactive")
        if not invitation_matches_user(invitation, user):
            raise PermissionDenied(f"This invitation was sent to {invitation.email}; you are signed in as {user.email}.",
                                   code="wrong_account")
        membership, created = Membership.objects.get_or_create(
            merchant=invitation.merchant, user=user, defaults={"role": invitation.role})
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    logger.info("accounts.invitation.accepted", extra={"merchant_id": invitation.merchant_id,
                                                       "invitation_id": invitation.pk, "joined": created})
    return membership


def _invitation_mail_on_commit(*, invitation: Invitation, raw: str, base_url: str) -> None:
    """Send through allauth's mail machinery (the account adapter's send_mail and its templates)
    once the invitation is committed. A mail server failure is logged and leaves `sent_at`
    empty, which the team page shows with a Resend button: the invitation itself stands."""
    url = base_url.rstrip("/") + reverse("invitation-accept", kwargs={"key": raw})
    context: dict[str, Any] = {
        "merchant_name": invitation.merchant.name,
        "inviter": (invitation.invited_by.get_full_name() or invitation.invited_by.email)
        if invitation.invited_by else invitation.merchant.name,
        "role": invitation.get_role_display(),
        "accept_url": url,
        "expires_at": invitation.expires_at,
    }
    invitation_id, email = invitation.pk, invitation.email

    def send() -> None:
        from allauth.account.adapter import get_adapter

        try:
            get_adapter().send_mail(INVITATION_MAIL_TEMPLATE, email, context)
        except Exception:  # noqa: BLE001 - any mail backend failure; the owner can resend
            logger.exception("accounts.invitation.mail_failed", extra={"invitation_id": invitation_id})
            return
        with unscoped("stamping an invitation as sent"):
            Invitation.objects.filter(pk=invitation_id).update(sent_at=timezone.now())

    transaction.on_commit(send)


# --- Merchant settings ------------------------------------------------------------------------

SHIP_BY_DAYS_MAX = 30


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    """Every IANA zone name this machine's tz database knows, aliases included (what a merchant
    may be set to); not the database's own entries ("localtime", "Factory", posix/, right/)."""
    return frozenset(n for n in zoneinfo.available_timezones()
                     if n not in ("localtime", "Factory", "posixrules") and not n.startswith(("posix/", "right/")))


@lru_cache(maxsize=1)
def time_zone_choices() -> tuple[str, ...]:
    """The zones offered in the settings select: UTC and the Area/City names, sorted; the
    legacy aliases (GB, US/Eastern) and Etc/GMT±N (whose sign is inverted) stay valid but unlisted."""
    return ("UTC", *sorted(n for n in time_zone_names() if "/" in n and not n.startswith(("Etc/", "US/", "SystemV/"))))


def merchant_update(*, merchant: Merchant, actor: User, name: str, currency: str, timezone_name: str,
                    default_ship_by_days: int, address: dict[str, Any] | None) -> Merchant:
    """Owners edit the merchant's name, currency, time zone, default ship-by days and ship-from
    address; every bad field is reported at once (ValidationFailed details: {field: message})."""
    _require_owner(merchant=merchant, actor=actor, action="change the merchant's settings")
    errors: dict[str, Any] = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = "Required."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    currency = (currency or "").strip().upper()
    if currency not in CURRENCIES:
        errors["currency"] = "Not an ISO 4217 currency code (e.g. USD, EUR, GBP)."
    if timezone_name not in time_zone_names():
        errors["timezone"] = "Not a time zone name (e.g. Europe/London)."
    if not isinstance(default_ship_by_days, int) or not 0 <= default_ship_by_days <= SHIP_BY_DAYS_MAX:
        errors["default_ship_by_days"] = f"A whole number of business days from 0 to {SHIP_BY_DAYS_MAX}."
    try:
        address = address_clean(address)
    except ValidationFailed as exc:
        errors.update(exc.details)
    if errors:
        raise ValidationFailed("Some settings are not valid.", code="invalid_settings", details=errors)
    with transaction.atomic():
        merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
        merchant.name, merchant.currency, merchant.timezone = name, currency, timezone_name
        merchant.default_ship_by_days, merchant.address = default_ship_by_days, address
        merchant.save(update_fields=["name", "currency", "timezone", "default_ship_by_days", "address", "updated_at"])
    logger.info("accounts.merchant.updated", extra={"merchant_id": merchant.pk})
    return merchant
