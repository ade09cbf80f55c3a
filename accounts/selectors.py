from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import ApiToken, AuditEvent, Invitation, Membership, Merchant, User
from accounts.registry import checklist_steps
from accounts.tenancy import unscoped
from core.errors import NotFound
from core.parsing import DateRange, optional_text


def api_token_list(*, merchant: Merchant) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(merchant=merchant).select_related("user").order_by("-id")


def api_token_active_count(*, merchant: Merchant, user_id: int) -> int:
    """How many of a person's tokens still work for this merchant (what removing them would revoke)."""
    return ApiToken.objects.filter(merchant=merchant, user_id=user_id, revoked_at__isnull=True).count()


def api_token_get(*, merchant: Merchant, pk: int) -> ApiToken:
    token = api_token_list(merchant=merchant).filter(pk=pk).first()
    if token is None:
        raise NotFound("No such API token.")
    return token


def membership_list(*, merchant: Merchant) -> QuerySet[Membership]:
    return Membership.objects.filter(merchant=merchant).select_related("user").order_by("created_at")


def membership_get(*, merchant: Merchant, pk: int) -> Membership:
    membership = membership_list(merchant=merchant).filter(pk=pk).order_by().first()
    if membership is None:
        raise NotFound("No such member.")
    return membership


def invitation_list_pending(*, merchant: Merchant) -> QuerySet[Invitation]:
    """Invitations not yet accepted or revoked, expired ones included (they can be resent)."""
    return (
        Invitation.objects.filter(merchant=merchant, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by").order_by("-created_at", "-id")
    )


def invitation_get(*, merchant: Merchant, pk: int) -> Invitation:
    invitation = Invitation.objects.filter(merchant=merchant, pk=pk).order_by().first()
    if invitation is None:
        raise NotFound("No such invitation.")
    return invitation


def memberships_of_user(*, user: User) -> list[Membership]:
    """Every merchant a person works for (the merchant switcher): their own rows only."""
    with unscoped("a person's own memberships"):
        return list(Membership.objects.select_related("merchant")
                    .filter(user=user, merchant__is_active=True).order_by("created_at", "id"))


def user_exists_with_email(email: str) -> bool:
    """Whether an invitation's address already has an account (sign in) or not (sign up)."""
    return User.objects.filter(email__iexact=email).exists()


# --- The setup checklist ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    title: str
    description: str
    url: str
    done: bool


@dataclass(frozen=True)
class SetupChecklist:
    items: list[ChecklistItem]

    @property
    def done_count(self) -> int:
        return sum(item.done for item in self.items)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def complete(self) -> bool:
        return self.done_count == self.total


def setup_checklist(*, merchant: Merchant) -> SetupChecklist:
    """A new merchant's setup steps (accounts.registry.checklist_steps, registered by the apps that own
    each fact), each ticked by asking its fact now: nothing is stored, so nothing can fall out of step."""
    steps = sorted(checklist_steps.items(), key=lambda kv: kv[1].position)
    return SetupChecklist(items=[
        ChecklistItem(key=key, title=step.title, description=step.description,
                      url=reverse(step.url_name) + step.url_suffix, done=bool(step.is_done(merchant)))
        for key, step in steps
    ])


def has_ship_from_address(merchant: Merchant) -> bool:
    """Checklist fact: the merchant saved where it ships from (labels and rates need it)."""
    return bool((merchant.address or {}).get("line1"))


def has_team(merchant: Merchant) -> bool:
    """Checklist fact: someone besides the first owner works here, or has been invited and not revoked."""
    return (Membership.objects.filter(merchant=merchant).count() > 1
            or Invitation.objects.filter(merchant=merchant, revoked_at__isnull=True).exists())


@dataclass(frozen=True)
class AuditFilters:
    """The audit trail's filters: an action or its family ("label" finds "label.bought"), an actor (part of
    an email or token label), and whole days in the merchant's zone (`from`, `to`, both optional)."""

    action: str = ""
    actor: str = ""
    days: DateRange = DateRange(start=None, end=None)

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, tz: str) -> AuditFilters:
        return cls(action=optional_text(params, "action", max_length=64),
                   actor=optional_text(params, "actor", max_length=254),
                   days=DateRange.from_params(params, tz=tz, default_days=None, max_days=None))


def audit_event_list(*, merchant: Merchant, filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    """Newest first (keyset-paged on id by the callers)."""
    qs = AuditEvent.objects.filter(merchant=merchant)
    filters = filters or AuditFilters()
    if filters.action:
        qs = qs.filter(action__startswith=filters.action)
    if filters.actor:
        qs = qs.filter(actor_label__icontains=filters.actor)
    if filters.days.start or filters.days.end:
        qs = filters.days.filter(qs, "occurred_at")
    return qs.order_by("-id")
