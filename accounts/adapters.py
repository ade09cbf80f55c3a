"""allauth hooks: every new user (email or Google) gets a merchant they own; a password that
allauth wipes takes the API tokens issued under it along."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter

from accounts import services

# Set on the request by SocialAccountAdapter.pre_social_login: the user the social login found
# while their password was still usable.
_PASSWORD_WATCH = "_accounts_password_usable_for"


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            name = (form.cleaned_data.get("business_name") or "").strip() if form is not None else ""
            services.merchant_ensure_for_user(user=user, name=name or None)
        return user

    def pre_login(self, request, user, **kwargs):
        """Runs right after a social login was accepted, which is where allauth wipes the password
        of an account found by an unverified address (its defence against pre-registered
        accounts; allauth sends no signal for it). The party that pre-registered the address
        must lose its API tokens too, or it keeps access to the account its real owner claimed."""
        if getattr(request, _PASSWORD_WATCH, None) == user.pk and not user.has_usable_password():
            services.api_tokens_revoke_for_user(user=user, reason="password wiped by social login")
        return super().pre_login(request, user, **kwargs)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form=form)
        services.merchant_ensure_for_user(user=user)
        return user

    def pre_social_login(self, request, sociallogin):
        """Remember whether the account this login found still has a usable password, so
        AccountAdapter.pre_login can tell that allauth wiped it in between."""
        super().pre_social_login(request, sociallogin)
        if sociallogin.is_existing and sociallogin.user.has_usable_password():
            setattr(request, _PASSWORD_WATCH, sociallogin.user.pk)
