"""allauth hooks: every new user (email or Google) gets a merchant they own, unless they came
through an invitation, in which case they join the inviting merchant instead; a password that
allauth wipes takes the API tokens issued under it along; the lockout says when to try again."""

from __future__ import annotations

import ipaddress
import logging
import math
import time

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.core.internal import ratelimit
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404

from accounts import services
from accounts.sessions import SESSION_INVITATION, SESSION_MERCHANT
from core.errors import ApplicationError

logger = logging.getLogger(__name__)

# Set on the request by SocialAccountAdapter.pre_social_login: the user the social login found
# while their password was still usable.
_PASSWORD_WATCH = "_accounts_password_usable_for"


def _join_invited_merchant(request, user) -> bool:
    """A person who opened an invitation link and then signed up (email or Google) with the
    invited address joins that merchant, and works in it from now on. False when there is no
    such invitation (any more): then they get a merchant of their own, as any sign-up does."""
    key = request.session.get(SESSION_INVITATION) if request is not None else None
    if not key:
        return False
    invitation = services.invitation_find(key)
    if invitation is None or invitation.email != (user.email or "").lower():
        return False
    try:
        membership = services.invitation_accept(invitation=invitation, user=user)
    except ApplicationError as exc:
        logger.info("accounts.invitation.not_joined_at_signup", extra={"code": exc.code})
        return False
    request.session.pop(SESSION_INVITATION, None)
    request.session[SESSION_MERCHANT] = membership.merchant_id
    return True


def login_lockout_seconds(request, *, key: str) -> float:
    """How long until allauth's `login_failed` rate limits let this sign-in through again.

    Reads the same configuration (ACCOUNT_RATE_LIMITS, or LOGIN_ATTEMPTS_LIMIT/TIMEOUT) and the
    same hit history in the cache that allauth's limiter keeps: a limit opens again when the
    hit that filled it falls out of its window.
    """
    now = time.time()
    wait = 0.0
    for rate in ratelimit.get_rates(app="allauth.account", action="login_failed"):
        if rate.per not in ("ip", "key"):
            continue
        cache_key = ratelimit.get_cache_key(request, app="allauth.account", action="login_failed", rate=rate, key=key)
        live = sorted((ts for ts in cache.get(cache_key, []) if ts > now - rate.duration), reverse=True)
        if len(live) >= rate.amount:
            wait = max(wait, live[rate.amount - 1] + rate.duration - now)
    return wait


def lockout_message(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many failed sign-in attempts. Try again in {minutes} minute{'' if minutes == 1 else 's'}."


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit and not _join_invited_merchant(request, user):
            if request is not None:
                # An invitation link stashed its address as verified (allauth's hook for exactly
                # this); it vouches for that address only when the invitation is what we join.
                self.unstash_verified_email(request)
            data = form.cleaned_data if form is not None else {}
            services.merchant_ensure_for_user(user=user, name=(data.get("business_name") or "").strip() or None,
                                              currency=data.get("currency") or None,
                                              timezone_name=data.get("timezone") or None)
        return user

    def get_client_ip(self, request) -> str:
        """The client's address for allauth's per-IP limits, counted as DRF counts it: REMOTE_ADDR with no
        trusted proxy, else the address the outermost of our TRUSTED_PROXY_COUNT proxies wrote into
        X-Forwarded-For. allauth raises ImproperlyConfigured (a 500) when the header holds fewer addresses
        than proxies, which happens whenever a client reaches an inner proxy directly; then the first
        address is the one the outermost proxy it passed wrote."""
        proxies = int(getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0) or 0)
        forwarded = [ip.strip() for ip in (request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",") if ip.strip()]
        if proxies > 0 and forwarded:
            candidate = forwarded[-min(proxies, len(forwarded))]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:  # not an address (a proxy that passed garbage through): the peer we see
                pass
        return request.META.get("REMOTE_ADDR") or super().get_client_ip(request)

    def pre_authenticate(self, request, **credentials):
        """allauth's lockout says "try again later"; say when."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as exc:
            if exc.code != "too_many_login_attempts":
                raise
            seconds = login_lockout_seconds(request, key=self._get_login_attempts_cache_key(request, **credentials))
            raise ValidationError(lockout_message(seconds), code="too_many_login_attempts",
                                  params={"seconds": seconds}) from exc

    def send_mail(self, template_prefix, email, context):
        """Mail sent outside a request (a service called from a shell or a test) has no site to
        take a subject prefix from; everything else is allauth's own send_mail."""
        if allauth_context.request is None:
            self.render_mail(template_prefix, email, {"email": email, **context}).send()
            return
        super().send_mail(template_prefix, email, context)

    def format_email_subject(self, subject):
        if account_settings.EMAIL_SUBJECT_PREFIX is None and allauth_context.request is None:
            return f"[Switchboard] {subject}"
        return super().format_email_subject(subject)

    def pre_login(self, request, user, **kwargs):
        """Runs right after a social login was accepted, which is where allauth wipes the password
        of an account found by an unverified address (its defence against pre-registered
        accounts; allauth sends no signal for it). The party that pre-registered the address
        must lose its API tokens too, or it keeps access to the account its real owner claimed."""
        if getattr(request, _PASSWORD_WATCH, None) == user.pk and not user.has_usable_password():
            services.api_tokens_revoke_for_user(user=user, reason="password wiped by social login")
        return super().pre_login(request, user, **kwargs)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request, provider, client_id=None):
        """Google sign-in is optional: with no app configured (environment or admin), its URLs are a 404
        page, not allauth's SocialApp.DoesNotExist as a 500."""
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist as exc:
            raise Http404("Sign-in with this provider is not set up.") from exc

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form=form)
        if not _join_invited_merchant(request, user):
            services.merchant_ensure_for_user(user=user)
        return user

    def pre_social_login(self, request, sociallogin):
        """Remember whether the account this login found still has a usable password, so
        AccountAdapter.pre_login can tell that allauth wiped it in between."""
        super().pre_social_login(request, sociallogin)
        if sociallogin.is_existing and sociallogin.user.has_usable_password():
            setattr(request, _PASSWORD_WATCH, sociallogin.user.pk)

    def list_apps(self, request, provider=None, client_id=None):
        """Google configured twice (GOOGLE_CLIENT_ID in the environment and a SocialApp row in
        the admin) would show two buttons, and allauth refuses to pick one when clicked
        (MultipleObjectsReturned, a 500). The environment wins; the row is ignored."""
        apps = super().list_apps(request, provider=provider, client_id=client_id)
        from_settings = {app.provider for app in apps if app.pk is None}
        kept = [app for app in apps if app.pk is None or app.provider not in from_settings]
        if len(kept) != len(apps):
            logger.warning("accounts.social_app.shadowed", extra={"providers": sorted(from_settings)})
        return kept
