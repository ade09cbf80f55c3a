from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and merchants"

    def ready(self) -> None:
        from allauth.account import signals as allauth_signals
        from django_scopes.manager import DisabledQuerySet

        # django-scopes 2.1 lets these through outside a scope (they are not in its list of
        # guarded methods); a query outside any scope must raise, so guard them too.
        for name in ("exists", "contains", "in_bulk", "explain", "bulk_update", "alias", "extra", "defer",
                     "only", "distinct", "exclude", "select_related", "prefetch_related"):
            setattr(DisabledQuerySet, name, DisabledQuerySet.error)

        # allauth's signals are its own extension points (not our domain flow): a password reset
        # or change ends the API tokens issued under the old credentials, through one service.
        allauth_signals.password_reset.connect(_revoke_tokens_on_password_reset, dispatch_uid="accounts.reset")
        allauth_signals.password_changed.connect(_revoke_tokens_on_password_change, dispatch_uid="accounts.change")

        from accounts.registry import ChecklistStep, checklist_steps
        from accounts.selectors import has_ship_from_address, has_team

        checklist_steps.register("accounts.ship_from", ChecklistStep(
            position=40, title="Set the ship-from address",
            description="Where your parcels leave from: labels and rates need it.",
            url_name="settings", url_suffix="#ship-from", is_done=has_ship_from_address))
        checklist_steps.register("accounts.team", ChecklistStep(
            position=60, title="Invite the team",
            description="Send an invitation to the people who pick, pack and ship.",
            url_name="team", is_done=has_team))

        # The audit trail's sign-ins: Django's own signals, which allauth's sign-in form and the API's
        # token exchange both go through (allauth authenticates and logs in with django.contrib.auth).
        from django.contrib.auth import signals as auth_signals

        auth_signals.user_logged_in.connect(_audit_signed_in, dispatch_uid="accounts.audit.signed_in")
        auth_signals.user_login_failed.connect(_audit_sign_in_failed, dispatch_uid="accounts.audit.sign_in_failed")


def _revoke_tokens_on_password_reset(sender, request, user, **kwargs) -> None:
    # Imported here, not at the top: Django imports apps.py while it populates the registry, before any
    # model can load, and accounts.services loads accounts.models (AppRegistryNotReady at the top).
    from accounts.services import api_tokens_revoke_for_user

    api_tokens_revoke_for_user(user=user, reason="password reset")
    _audit_password(user, how="reset")


def _revoke_tokens_on_password_change(sender, request, user, **kwargs) -> None:
    # Imported here, not at the top: Django imports apps.py while it populates the registry, before any
    # model can load, and accounts.services loads accounts.models (AppRegistryNotReady at the top).
    from accounts.services import api_tokens_revoke_for_user

    api_tokens_revoke_for_user(user=user, reason="password changed")
    _audit_password(user, how="changed")


def _audit_password(user, *, how: str) -> None:
    from accounts.services.audit import audit_record_for_user_merchants

    audit_record_for_user_merchants(user=user, action="user.password_changed", changes={"password": how})


def _audit_signed_in(sender, request, user, **kwargs) -> None:
    from accounts.services.audit import audit_record_for_user_merchants

    audit_record_for_user_merchants(user=user, action="user.signed_in")


def _audit_sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    """A failed sign-in for an address we know is recorded in that person's merchants (an unknown address
    belongs to no merchant, so no owner could be shown it). The password never reaches here uncleansed,
    and is not written anyway: only the address."""
    from accounts.models import User
    from accounts.services.audit import audit_record_for_user_merchants

    email = str(credentials.get("email") or credentials.get("username") or "").strip().lower()
    user = User.objects.filter(email__iexact=email).first() if email else None
    if user is not None:
        audit_record_for_user_merchants(user=user, action="user.sign_in_failed", actor_label=email,
                                         by_the_user=False)
