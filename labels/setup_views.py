"""The shipping setup page (Settings → Shipping setup): package presets and shipping rules, added and
deleted by owners through labels.services, read by staff."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin, request_is_owner
from core.errors import ApplicationError
from labels import selectors, services
from labels.forms import PackagePresetForm, ShippingRuleForm


class ShippingSetupView(MerchantRequiredMixin, TemplateView):
    """Packages and shipping rules: owners add and delete them, staff read them."""

    template_name = "labels/setup.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            presets=selectors.package_preset_list(merchant=self.merchant),
            rules=selectors.shipping_rule_list(merchant=self.merchant),
            is_owner=request_is_owner(self.request),
            package_form=kwargs.pop("package_form", None) or PackagePresetForm(),
            rule_form=kwargs.pop("rule_form", None) or ShippingRuleForm(),
            **kwargs,
        )


def _setup_url() -> str:
    return reverse("shipping-setup")


def _add_service_error(form, exc: ApplicationError) -> None:
    fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
    if isinstance(fields, dict) and fields:
        for name, message in fields.items():
            form.add_error(name if name in form.fields else None, str(message))
    else:
        form.add_error(None, exc.message)


class _SetupAddView(MerchantRequiredMixin, View):
    """Add one entry of the setup page through its service; its errors go back onto the form's fields."""

    form_class: type
    form_name: str  # the setup page's context name of the form
    create_service = None

    def post(self, request):
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                self.create_service(merchant=self.merchant, actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                _add_service_error(form, exc)
            else:
                messages.success(request, "Added.")
                return HttpResponseRedirect(_setup_url())
        view = ShippingSetupView(request=request)
        return render(request, view.template_name, view.get_context_data(**{self.form_name: form}), status=400)


class _SetupDeleteView(MerchantRequiredMixin, View):
    """Delete one entry of the setup page (another merchant's is 404; staff are refused in words)."""

    object_kw: str
    get_selector = delete_service = None

    def post(self, request, pk: int):
        obj = self.get_selector(merchant=self.merchant, pk=pk)
        try:
            self.delete_service(merchant=self.merchant, actor=request.user, **{self.object_kw: obj})
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Deleted.")
        return HttpResponseRedirect(_setup_url())


class PackagePresetCreateView(_SetupAddView):
    form_class, form_name = PackagePresetForm, "package_form"
    create_service = staticmethod(services.package_preset_create)


class PackagePresetDeleteView(_SetupDeleteView):
    object_kw = "preset"
    get_selector = staticmethod(selectors.package_preset_get)
    delete_service = staticmethod(services.package_preset_delete)


class ShippingRuleCreateView(_SetupAddView):
    form_class, form_name = ShippingRuleForm, "rule_form"
    create_service = staticmethod(services.shipping_rule_create)


class ShippingRuleDeleteView(_SetupDeleteView):
    object_kw = "shipping_rule"
    get_selector = staticmethod(selectors.shipping_rule_get)
    delete_service = staticmethod(services.shipping_rule_delete)
