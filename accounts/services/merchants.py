"""Merchants (the tenant), the membership a signed-in user works in, and the merchant's settings."""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import Membership, Merchant, User
from accounts.registry import onboarding_steps
from accounts.services.audit import audit_record
from accounts.tenancy import tenant_scope, unscoped
from core.address import address_clean
from core.errors import PermissionDenied, ValidationFailed
from core.iso_codes import CURRENCIES

logger = logging.getLogger(__name__)
AUDITED_SETTINGS = ("name", "currency", "timezone", "default_ship_by_days", "address", "label_format")

SIGNUP_DEFAULT_CURRENCY = "USD"  # a new merchant's currency when sign-up gives none


def is_owner(*, merchant: Merchant, user: User) -> bool:
    with tenant_scope(merchant):
        return Membership.objects.filter(merchant=merchant, user=user, role=Membership.Role.OWNER).exists()


def require_owner(*, merchant: Merchant, actor: User, action: str) -> None:
    """Raise 403 `not_owner` unless `actor` owns `merchant` (`action` says what was refused)."""
    if not is_owner(merchant=merchant, user=actor):
        raise PermissionDenied(f"Only an owner can {action}.", code="not_owner")


def merchant_create(*, name: str, owner: User, currency: str = "USD", timezone_name: str = "UTC") -> Merchant:
    """Create a tenant with its owner, then run the onboarding steps other apps declare.

    Onboarding steps (accounts.registry.onboarding_steps, filled from AppConfig.ready()) let
    apps above accounts give a new merchant what it needs (a default location, notification
    settings) without accounts importing them. A currency or zone this installation does not know is
    refused (ValidationFailed), never stored.
    """
    errors = _currency_and_zone_errors(currency, timezone_name)
    if errors:
        raise ValidationFailed("The new merchant's settings are not valid.", code="invalid_settings", details=errors)
    with transaction.atomic():
        merchant = Merchant.objects.create(name=" ".join(name.split())[:200] or owner.email, currency=currency,
                                           timezone=timezone_name)
        with tenant_scope(merchant):
            Membership.objects.create(merchant=merchant, user=owner, role=Membership.Role.OWNER)
            for step in onboarding_steps.values():
                step(merchant=merchant)
    logger.info("accounts.merchant.created", extra={"merchant_id": merchant.pk})
    return merchant


def merchant_ensure_for_user(*, user: User, name: str | None = None, currency: str | None = None,
                             timezone_name: str | None = None) -> Merchant:
    """Give a newly signed-up user their own merchant, once (sign-up and social sign-up both call this).
    What sign-up left out (Google sign-up asks nothing) takes the server's defaults: USD and TIME_ZONE."""
    membership = membership_for_user(user)
    if membership is not None:
        return membership.merchant
    default_name = name or (f"{user.first_name}'s shop".strip() if user.first_name else user.email.split("@")[0])
    return merchant_create(name=default_name, owner=user, currency=currency or SIGNUP_DEFAULT_CURRENCY,
                           timezone_name=timezone_name or settings.TIME_ZONE)


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


def _currency_and_zone_errors(currency: str, timezone_name: str) -> dict[str, str]:
    """A new merchant and a settings change take the same currencies and zones."""
    errors = {}
    if currency not in CURRENCIES:
        errors["currency"] = "Not an ISO 4217 currency code (e.g. USD, EUR, GBP)."
    if timezone_name not in time_zone_names():
        errors["timezone"] = "Not a time zone name (e.g. Europe/London)."
    return errors


def merchant_update(*, merchant: Merchant, actor: User, name: str, currency: str, timezone_name: str,
                    default_ship_by_days: int, address: dict[str, Any] | None,
                    label_format: str | None = None) -> Merchant:
    """Owners edit the merchant's name, currency, time zone, default ship-by days, ship-from address
    (with its phone) and label format (None: unchanged); every bad field is reported at once
    (ValidationFailed details: {field: message}). The settings form sends them all."""
    changes: dict[str, Any] = {"name": name, "currency": currency, "timezone": timezone_name,
                               "default_ship_by_days": default_ship_by_days, "address": address}
    if label_format is not None:
        changes["label_format"] = label_format
    return merchant_settings_patch(merchant=merchant, actor=actor, changes=changes)


def merchant_settings_patch(*, merchant: Merchant, actor: User, changes: Mapping[str, Any]) -> Merchant:
    """Change only the settings named in `changes` (keys of AUDITED_SETTINGS; `address` is the ship-from):
    the merchant row is locked and read, what was not given is kept as that row has it, and only the fields
    that changed are written. An API PATCH used to merge the given fields into the merchant read at the start
    of the request and write every field back, so two PATCHes of different fields at once lost one."""
    require_owner(merchant=merchant, actor=actor, action="change the merchant's settings")
    unknown = set(changes) - set(AUDITED_SETTINGS)
    if unknown:
        raise ValueError(f"Not a merchant setting: {sorted(unknown)}")
    with transaction.atomic():
        locked = Merchant.objects.select_for_update().get(pk=merchant.pk)
        before = {name: getattr(locked, name) for name in AUDITED_SETTINGS}
        values = _settings_clean({**before, **changes})
        changed = [name for name in AUDITED_SETTINGS if values[name] != before[name]]
        for name in changed:
            setattr(locked, name, values[name])
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
        audit_record(merchant=locked, action="merchant.settings_changed", actor=actor, obj=locked,
                     before=before, after={name: getattr(locked, name) for name in AUDITED_SETTINGS})
    logger.info("accounts.merchant.updated", extra={"merchant_id": locked.pk})
    return locked


def _settings_clean(values: dict[str, Any]) -> dict[str, Any]:
    """Every setting checked and normalised; ValidationFailed names every bad field at once."""
    errors: dict[str, Any] = {}
    name = " ".join((values["name"] or "").split())
    if not name:
        errors["name"] = "Required."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    currency = (values["currency"] or "").strip().upper()
    timezone_name = values["timezone"]
    errors.update(_currency_and_zone_errors(currency, timezone_name))
    days = values["default_ship_by_days"]
    if not isinstance(days, int) or not 0 <= days <= SHIP_BY_DAYS_MAX:
        errors["default_ship_by_days"] = f"A whole number of business days from 0 to {SHIP_BY_DAYS_MAX}."
    if values["label_format"] not in Merchant.LabelFormat.values:
        errors["label_format"] = f"One of: {', '.join(Merchant.LabelFormat.values)}."
    try:
        address = address_clean(values["address"])
    except ValidationFailed as exc:
        errors.update(exc.details)
    if errors:
        raise ValidationFailed("Some settings are not valid.", code="invalid_settings", details=errors)
    return {**values, "name": name, "currency": currency, "timezone": timezone_name, "default_ship_by_days": days,
            "address": address}
