"""The remembered SKUs page: aliases made when mapping an order's unknown SKU, by store name; forget one.

The aliases are inventory's (SkuAlias); the page lives with orders because only orders knows the names
of the merchant's stores (orders.channels.store_choices) that the aliases' store keys point at.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from orders.channels import store_choices, store_key


class SkuAliasListView(MerchantRequiredMixin, TemplateView):
    template_name = "orders/sku_aliases.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        stores = {store_key(pk): name for pk, name in store_choices(self.merchant)}
        aliases = list(inventory_selectors.sku_alias_list(merchant=self.merchant)[:1000])
        for alias in aliases:
            alias.store_name = stores.get(alias.store_key, "A disconnected store") if alias.store_key else "Every store"
        ctx["aliases"] = aliases
        return ctx


class SkuAliasDeleteView(MerchantRequiredMixin, View):
    def post(self, request, pk: int):
        alias = inventory_selectors.sku_alias_get(merchant=self.merchant, pk=pk)
        inventory_services.sku_alias_delete(merchant=self.merchant, alias=alias)
        messages.success(request, f"Forgot {alias.sku} → {alias.product.sku}. New orders with {alias.sku} "
                                  "will need mapping again.")
        return HttpResponseRedirect(reverse("sku-alias-list"))
