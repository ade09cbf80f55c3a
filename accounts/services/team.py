"""The team: roles, removal and invitations."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, Invitation, Membership, Merchant, User
from accounts.services.audit import audit_record
from accounts.services.merchants import require_owner
from accounts.services.tokens import secret_hash
from accounts.tenancy import unscoped
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

logger = logging.getLogger(__name__)


INVITATION_TTL = timedelta(days=7)
INVITATION_MAIL_TEMPLATE = "account/email/team_invitation"


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
    require_owner(merchant=merchant, actor=actor, action="change roles")
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
        old_role, membership.role = membership.role, role
        membership.save(update_fields=["role"])
        audit_record(merchant=merchant, action="membership.role_changed", actor=actor, obj=membership,
                     object_repr=str(membership.user), before={"role": old_role}, after={"role": role})
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
        require_owner(merchant=merchant, actor=actor, action="remove members")
    if membership.merchant_id != merchant.pk:
        raise NotFound("No such member.")
    with transaction.atomic():
        owners, membership = _owners_and_member_locked(merchant=merchant, membership_pk=membership.pk)
        if membership.role == Membership.Role.OWNER and len(owners) <= 1:
            raise Conflict("The last owner cannot be removed: make someone else an owner first.", code="last_owner")
        revoked = ApiToken.objects.filter(merchant=merchant, user_id=membership.user_id,
                                          revoked_at__isnull=True).update(revoked_at=timezone.now())
        membership_pk, person = membership.pk, str(membership.user)
        membership.delete()
        audit_record(merchant=merchant, action="membership.removed", actor=actor, object_type="accounts.Membership",
                     object_id=membership_pk, object_repr=person,
                     changes={"role": {"old": membership.role, "new": None}, "tokens_revoked": revoked})
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
    invitation.key_hash = secret_hash(raw)
    invitation.expires_at = timezone.now() + INVITATION_TTL
    invitation.sent_at = None
    return raw


def invitation_create(*, merchant: Merchant, actor: User, email: str, role: str, base_url: str) -> Invitation:
    """Invite an address with a role and email it a link valid for INVITATION_TTL.

    Inviting an address that already has an open invitation re-issues that one (new link, new
    expiry, the role now asked for) instead of piling up a second. `base_url` is the site's
    scheme and host, which only the request knows.
    """
    require_owner(merchant=merchant, actor=actor, action="invite people")
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
            audit_record(merchant=merchant, action="invitation.created", actor=actor, obj=invitation,
                         changes={"role": {"old": None, "new": role}})
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
    require_owner(merchant=merchant, actor=actor, action="resend invitations")
    with transaction.atomic():
        invitation = _open_invitation_locked(merchant=merchant, invitation=invitation, action="resent")
        raw = _issue_key(invitation)
        invitation.save(update_fields=["key_hash", "expires_at", "sent_at"])
        _invitation_mail_on_commit(invitation=invitation, raw=raw, base_url=base_url)
    logger.info("accounts.invitation.resent", extra={"merchant_id": merchant.pk, "invitation_id": invitation.pk})
    return invitation


def invitation_revoke(*, merchant: Merchant, actor: User, invitation: Invitation) -> Invitation:
    require_owner(merchant=merchant, actor=actor, action="revoke invitations")
    with transaction.atomic():
        invitation = _open_invitation_locked(merchant=merchant, invitation=invitation, action="revoked")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(merchant=merchant, action="invitation.revoked", actor=actor, obj=invitation)
    logger.info("accounts.invitation.revoked", extra={"merchant_id": merchant.pk, "invitation_id": invitation.pk})
    return invitation


def invitation_find(raw: str) -> Invitation | None:
    """The invitation a link's key belongs to, whatever its state (None for a key we never issued).
    Runs before any scope exists: the key is the credential, as a webhook token is."""
    if not raw or len(raw) > 100:
        return None
    with unscoped("invitation link lookup"):
        return Invitation.objects.select_related("merchant", "invited_by").filter(
            key_hash=secret_hash(raw)).order_by().first()


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
        if created:
            audit_record(merchant=invitation.merchant, action="membership.joined", actor=user, obj=membership,
                         object_repr=str(user), changes={"role": {"old": None, "new": membership.role}})
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
        try:
            get_account_adapter().send_mail(INVITATION_MAIL_TEMPLATE, email, context)
        except Exception:  # noqa: BLE001 - any mail backend failure; the owner can resend
            logger.exception("accounts.invitation.mail_failed", extra={"invitation_id": invitation_id})
            return
        with unscoped("stamping an invitation as sent"):
            Invitation.objects.filter(pk=invitation_id).update(sent_at=timezone.now())

    transaction.on_commit(send)
