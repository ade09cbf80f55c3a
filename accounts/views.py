from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts import selectors, services
from accounts.forms import ApiTokenForm
from core.errors import PermissionDenied


class MerchantRequiredMixin(LoginRequiredMixin):
    """Dashboard pages: signed in, inside a merchant's scope (opened by the middleware)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.merchant is None:
            return render(request, "accounts/no_merchant.html", status=403)
        return super().dispatch(request, *args, **kwargs)

    @property
    def merchant(self):
        return self.request.merchant


class SettingsView(MerchantRequiredMixin, TemplateView):
    template_name = "accounts/settings.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            tokens=selectors.api_token_list(merchant=self.merchant),
            members=selectors.membership_list(merchant=self.merchant),
            token_form=kwargs.get("token_form") or ApiTokenForm(),
            new_token=self.request.session.pop("new_api_token", None),
        )
        return ctx


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
