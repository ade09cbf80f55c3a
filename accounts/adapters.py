"""allauth hooks: every new user (email or Google) gets a merchant they own."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter

from accounts import services


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            name = (form.cleaned_data.get("business_name") or "").strip() if form is not None else ""
            services.merchant_ensure_for_user(user=user, name=name or None)
        return user


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form=form)
        services.merchant_ensure_for_user(user=user)
        return user
