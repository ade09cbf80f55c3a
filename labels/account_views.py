"""Carrier accounts in settings: list, add with the carrier package's connect form ("Test connection"
before saving), rename or replace the API key (write-only), remove after a confirmation. Owners change
accounts, as in the API (labels.services.accounts refuses anyone else with a 403)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin, request_is_owner
from core.errors import ApplicationError, NotFound, ValidationFailed
from core.fields import decrypt, encrypt
from labels import selectors, services
from labels.registry import carrier_packages
from labels.services.accounts import carrier_package

TESTED_SESSION_KEY = "labels.carrier_tested.{carrier}"


class CarrierAccountListView(MerchantRequiredMixin, TemplateView):
    template_name = "labels/accounts.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(accounts=list(selectors.carrier_account_list(merchant=self.merchant)),
                                        packages=carrier_packages.values(), is_owner=request_is_owner(self.request),
                                        **kwargs)


class CarrierAccountNewView(MerchantRequiredMixin, TemplateView):
    """The carrier package's connect form: "Test connection" stores nothing (a key that worked is kept,
    encrypted, in the session so saving right after needs nothing typed again); "Save" tests first and
    stores nothing the carrier refuses. Owners only, as the API."""

    template_name = "labels/account_form.html"

    def _package(self):
        slug = self.request.GET.get("carrier") or self.request.POST.get("carrier") or next(iter(carrier_packages.keys()))
        if slug not in carrier_packages.keys():
            raise NotFound("No such carrier.")
        return carrier_package(slug)

    def get(self, request):
        package = self._package()
        return self._render(package, package.connect_form())

    def _render(self, package, form, *, test=None, kept=False, status=200):
        return self.render_to_response(self.get_context_data(
            package=package, packages=carrier_packages.values(), form=form, test=test, kept=kept,
            is_owner=request_is_owner(self.request)), status=status)

    def post(self, request):
        package = self._package()
        key = TESTED_SESSION_KEY.format(carrier=package.slug)
        data = request.POST.copy()
        if not data.get("api_key") and request.session.get(key):
            data["api_key"] = decrypt(request.session[key])
        form = package.connect_form(data)
        if not form.is_valid():
            return self._render(package, form, status=400)
        try:
            if request.POST.get("action") == "test":
                info = services.carrier_account_test(carrier=package.slug, credentials=form.credentials())
                request.session[key] = encrypt(form.cleaned_data["api_key"])
                return self._render(package, form, test={"ok": True, "account_name": info.account_name}, kept=True)
            account = services.carrier_account_create(merchant=self.merchant, actor=request.user,
                                                      carrier=package.slug, name=form.cleaned_data["name"],
                                                      credentials=form.credentials())
        except ApplicationError as exc:
            request.session.pop(key, None)
            if exc.status_code == 403:
                raise
            return self._render(package, form, test={"ok": False, "error": exc.message}, status=400)
        request.session.pop(key, None)
        messages.success(request, f"{account.name} is connected: its rates appear when you buy a label.")
        return HttpResponseRedirect(reverse("carrier-accounts"))


class CarrierAccountEditView(MerchantRequiredMixin, TemplateView):
    """Rename the account, or replace its API key (tested before it is stored; the stored key is never
    shown)."""

    template_name = "labels/account_edit.html"

    def get(self, request, pk: int):
        account = selectors.carrier_account_get(merchant=self.merchant, pk=pk)
        return self.render_to_response(self.get_context_data(account=account, is_owner=request_is_owner(request)))

    def post(self, request, pk: int):
        account = selectors.carrier_account_get(merchant=self.merchant, pk=pk)
        package = carrier_package(account.carrier)
        name = request.POST.get("name", "")
        api_key = request.POST.get("api_key", "").strip()
        try:
            if request.POST.get("action") == "test":
                if not api_key:
                    raise ValidationFailed("Type the new API key to test it.")
                info = services.carrier_account_test(carrier=account.carrier, credentials={"api_key": api_key})
                messages.success(request, f"The new key works ({info.account_name}). Type it again and save to "
                                          "use it.")
                return HttpResponseRedirect(reverse("carrier-account-edit", args=[account.pk]))
            services.carrier_account_update(merchant=self.merchant, actor=request.user, account=account, name=name,
                                            credentials={"api_key": api_key} if api_key else None)
        except ApplicationError as exc:
            if exc.status_code == 403:
                raise
            return self.render_to_response(self.get_context_data(
                account=account, is_owner=request_is_owner(request), error=exc.message, package=package), status=400)
        messages.success(request, f"{account.name} saved" + (" with its new API key." if api_key else "."))
        return HttpResponseRedirect(reverse("carrier-accounts"))


class CarrierAccountRemoveView(MerchantRequiredMixin, TemplateView):
    template_name = "labels/account_remove.html"

    def get(self, request, pk: int):
        account = selectors.carrier_account_get(merchant=self.merchant, pk=pk)
        return self.render_to_response(self.get_context_data(account=account, is_owner=request_is_owner(request),
                                                             labels=account.labels.count()))

    def post(self, request, pk: int):
        account = selectors.carrier_account_get(merchant=self.merchant, pk=pk)
        services.carrier_account_disconnect(merchant=self.merchant, actor=request.user, account=account)
        messages.success(request, f"{account.name} is removed; the labels bought with it stay on their orders.")
        return HttpResponseRedirect(reverse("carrier-accounts"))
