from __future__ import annotations

from allauth.account.adapter import get_adapter as get_account_adapter
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts import selectors, services
from accounts.forms import ApiTokenForm, InvitationForm, MerchantSettingsForm, RoleForm
from accounts.models import Membership
from accounts.sessions import SESSION_INVITATION, SESSION_MERCHANT
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.pagination import keyset_page
from core.parsing import filters_lenient

AUDIT_PAGE = 50


class MerchantRequiredMixin(LoginRequiredMixin):
    """Dashboard pages: signed in, inside a merchant's scope (opened by the middleware)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.merchant is None:
            return render(request, "accounts/no_merchant.html", status=403)
        return super().dispatch(request, *args, **kwargs)

    @property
    def merchant(self):
        return self.request.merchant


def request_is_owner(request) -> bool:
    """Does the signed-in member own this merchant? (Pages show owners' controls; services still decide.)"""
    return request.membership is not None and request.membership.role == Membership.Role.OWNER


class SettingsView(MerchantRequiredMixin, TemplateView):
    """Merchant settings (owners edit, staff read), the team at a glance, API tokens."""

    template_name = "accounts/settings.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        is_owner = request_is_owner(self.request)
        ctx.update(
            tokens=selectors.api_token_list(merchant=self.merchant),
            members=selectors.membership_list(merchant=self.merchant),
            token_form=kwargs.get("token_form") or ApiTokenForm(),
            new_token=self.request.session.pop("new_api_token", None),
            is_owner=is_owner,
            merchant_form=kwargs.get("merchant_form") or MerchantSettingsForm(
                initial=MerchantSettingsForm.initial_for(self.merchant), read_only=not is_owner),
            my_merchants=selectors.memberships_of_user(user=self.request.user),
        )
        return ctx

    def post(self, request):
        """Save the merchant's settings (owners; merchant_update refuses anyone else with a 403)."""
        form = MerchantSettingsForm(request.POST, initial=MerchantSettingsForm.initial_for(self.merchant),
                                    read_only=not request_is_owner(request))
        if form.is_valid():
            try:
                services.merchant_update(
                    merchant=self.merchant, actor=request.user, name=form.cleaned_data["name"],
                    currency=form.cleaned_data["currency"], timezone_name=form.cleaned_data["timezone"],
                    default_ship_by_days=form.cleaned_data["default_ship_by_days"], address=form.address(),
                    label_format=form.cleaned_data["label_format"] or None,
                )
            except ValidationFailed as exc:
                form.add_service_errors(exc.details)
            else:
                messages.success(request, "Settings saved.")
                return HttpResponseRedirect(reverse("settings"))
        return render(request, self.template_name, self.get_context_data(merchant_form=form), status=400)


class MerchantSwitchView(MerchantRequiredMixin, View):
    """Work in another merchant the person belongs to (remembered for this session)."""

    def post(self, request):
        try:
            merchant_id = int(request.POST.get("merchant", ""))
        except ValueError:
            merchant_id = None
        chosen = next((m for m in selectors.memberships_of_user(user=request.user) if m.merchant_id == merchant_id), None)
        if chosen is None:
            messages.error(request, "You are not a member of that merchant.")
            return HttpResponseRedirect(reverse("settings"))
        request.session[SESSION_MERCHANT] = chosen.merchant_id
        messages.success(request, f"Now working in {chosen.merchant.name}.")
        return HttpResponseRedirect(reverse("dashboard"))


class TeamView(MerchantRequiredMixin, TemplateView):
    """Everyone sees who is on the team; owners invite, change roles and remove."""

    template_name = "accounts/team.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        invitations = list(selectors.invitation_list_pending(merchant=self.merchant))
        for invitation in invitations:
            invitation.state = services.invitation_state(invitation)
        ctx.update(
            members=selectors.membership_list(merchant=self.merchant),
            invitations=invitations,
            is_owner=request_is_owner(self.request),
            invite_form=kwargs.get("invite_form") or InvitationForm(),
            roles=Membership.Role.choices,
        )
        return ctx


class AuditView(MerchantRequiredMixin, TemplateView):
    """The audit trail, for owners: who did what, from where, newest first, filterable and keyset-paged
    (a bad filter is named and dropped, the others still apply)."""

    template_name = "accounts/audit.html"

    def get_context_data(self, **kwargs):
        services.require_owner(merchant=self.merchant, actor=self.request.user, action="see the audit trail")
        ctx = super().get_context_data(**kwargs)
        params = self.request.GET.copy()
        params.pop("after", None)
        filters, problems = filters_lenient(
            lambda p: selectors.AuditFilters.from_params(p, tz=self.merchant.timezone), params)
        page = keyset_page(selectors.audit_event_list(merchant=self.merchant, filters=filters), order=["-pk"],
                           after=self.request.GET.get("after", ""), size=AUDIT_PAGE)
        params["after"] = page.next_cursor
        ctx.update(events=page.rows, next_query=params.urlencode() if page.next_cursor else "",
                   filters=filters, problems=problems)
        return ctx


def _team_url() -> str:
    return reverse("team")


def _say_whether_sent(request, invitation, sent_message: str) -> None:
    """The mail goes out when the service's transaction commits, before we get here."""
    invitation.refresh_from_db(fields=["sent_at"])
    if invitation.sent_at is None:
        messages.error(request, f"The invitation to {invitation.email} is saved but the email could not be sent. "
                                "Try Resend in a moment.")
    else:
        messages.success(request, sent_message)


class InvitationCreateView(MerchantRequiredMixin, View):
    def post(self, request):
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation = services.invitation_create(
                    merchant=self.merchant, actor=request.user, email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"], base_url=request.build_absolute_uri("/"),
                )
            except (ValidationFailed, Conflict) as exc:
                form.add_error("email", exc.message)
            else:
                _say_whether_sent(request, invitation, f"Invitation sent to {invitation.email}.")
                return HttpResponseRedirect(_team_url())
        view = TeamView(request=request, kwargs={})
        return render(request, TeamView.template_name, view.get_context_data(invite_form=form), status=400)


class InvitationResendView(MerchantRequiredMixin, View):
    def post(self, request, pk: int):
        invitation = selectors.invitation_get(merchant=self.merchant, pk=pk)
        try:
            services.invitation_resend(merchant=self.merchant, actor=request.user, invitation=invitation,
                                       base_url=request.build_absolute_uri("/"))
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            _say_whether_sent(request, invitation,
                              f"A new link was sent to {invitation.email}; the old one no longer works.")
        return HttpResponseRedirect(_team_url())


class InvitationRevokeView(MerchantRequiredMixin, View):
    def post(self, request, pk: int):
        invitation = selectors.invitation_get(merchant=self.merchant, pk=pk)
        try:
            services.invitation_revoke(merchant=self.merchant, actor=request.user, invitation=invitation)
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Invitation to {invitation.email} revoked; its link no longer works.")
        return HttpResponseRedirect(_team_url())


class MembershipRoleView(MerchantRequiredMixin, View):
    def post(self, request, pk: int):
        membership = selectors.membership_get(merchant=self.merchant, pk=pk)
        form = RoleForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a role: owner or staff.")
            return HttpResponseRedirect(_team_url())
        try:
            membership = services.membership_role_change(merchant=self.merchant, actor=request.user,
                                                         membership=membership, role=form.cleaned_data["role"])
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{membership.user.email} is now {membership.get_role_display().lower()}.")
        return HttpResponseRedirect(_team_url())


class MembershipRemoveView(MerchantRequiredMixin, View):
    """GET asks (naming what removal does), POST removes: no destructive default."""

    def get(self, request, pk: int):
        membership = selectors.membership_get(merchant=self.merchant, pk=pk)
        return render(request, "accounts/member_remove.html", {
            "member": membership, "is_owner": request_is_owner(request),
            "active_tokens": selectors.api_token_active_count(merchant=self.merchant, user_id=membership.user_id),
        })

    def post(self, request, pk: int):
        membership = selectors.membership_get(merchant=self.merchant, pk=pk)
        try:
            revoked = services.membership_remove(merchant=self.merchant, actor=request.user, membership=membership)
        except Conflict as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(_team_url())
        tokens = f" and {revoked} API token{'' if revoked == 1 else 's'} revoked" if revoked else ""
        messages.success(request, f"{membership.user.email} removed from the team{tokens}.")
        if membership.user_id == request.user.pk:
            return HttpResponseRedirect(reverse("dashboard"))
        return HttpResponseRedirect(_team_url())


_INVALID_REASONS = {
    "unknown": "This invitation link is not valid. Check that you copied the whole link from the email.",
    "accepted": "This invitation has already been used. If that was you, just sign in.",
    "revoked": "This invitation was withdrawn by the merchant. Ask them for a new one if you still need access.",
    "expired": "This invitation has expired. Ask the person who invited you to send a new one.",
}


class InvitationAcceptView(View):
    """Where the invitation email's link lands, signed in or not.

    Signed out: the link's address is remembered (and stashed as verified with allauth, since
    only its owner could have opened the mail), then sign in, or sign up with the address
    filled in and join on sign-up (accounts.adapters). Signed in as that address: one click
    to join. Signed in as someone else: say so, and offer to sign out.
    """

    template_name = "accounts/invitation.html"

    def _invalid(self, request, state: str):
        status = 404 if state == "unknown" else 410
        return render(request, "accounts/invitation_invalid.html",
                      {"reason": _INVALID_REASONS[state], "state": state}, status=status)

    def get(self, request, key: str):
        invitation = services.invitation_find(key)
        if invitation is None:
            return self._invalid(request, "unknown")
        state = services.invitation_state(invitation)
        if state != "open":
            return self._invalid(request, state)
        ctx = {"invitation": invitation, "key": key}
        if request.user.is_authenticated:
            wrong = not services.invitation_matches_user(invitation, request.user)
            return render(request, self.template_name, {**ctx, "wrong_account": wrong}, status=403 if wrong else 200)
        request.session[SESSION_INVITATION] = key
        get_account_adapter(request).stash_verified_email(request, invitation.email)
        return render(request, self.template_name,
                      {**ctx, "has_account": selectors.user_exists_with_email(invitation.email),
                       "here": request.get_full_path()})

    def post(self, request, key: str):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        invitation = services.invitation_find(key)
        if invitation is None:
            return self._invalid(request, "unknown")
        try:
            membership = services.invitation_accept(invitation=invitation, user=request.user)
        except Conflict as exc:
            return self._invalid(request, exc.code.removeprefix("invitation_")
                                 if exc.code.removeprefix("invitation_") in _INVALID_REASONS else "unknown")
        except PermissionDenied as exc:
            return render(request, self.template_name, {"invitation": invitation, "key": key, "wrong_account": True,
                                                        "message": exc.message}, status=403)
        request.session.pop(SESSION_INVITATION, None)
        request.session[SESSION_MERCHANT] = membership.merchant_id
        messages.success(request, f"Welcome to {invitation.merchant.name}.")
        return HttpResponseRedirect(reverse("dashboard"))


class ApiTokenCreateView(MerchantRequiredMixin, View):
    def post(self, request):
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            view = SettingsView(request=request, kwargs={})
            return render(request, SettingsView.template_name, view.get_context_data(token_form=form), status=400)
        _, raw = services.api_token_create(merchant=self.merchant, user=request.user, name=form.cleaned_data["name"])
        request.session["new_api_token"] = raw  # shown once on the next page, then gone
        return HttpResponseRedirect(reverse("settings") + "#api-tokens")


class ApiTokenRevokeView(MerchantRequiredMixin, View):
    def post(self, request, pk: int):
        token = selectors.api_token_get(merchant=self.merchant, pk=pk)
        try:
            services.api_token_revoke(merchant=self.merchant, actor=request.user, token=token)
        except PermissionDenied as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("settings") + "#api-tokens")
        messages.success(request, f"Token {token.prefix}… revoked.")
        return HttpResponseRedirect(reverse("settings") + "#api-tokens")
