"""What a merchant types to connect a Shopify store: the shop's domain and either a custom app's token
(the connect form) or nothing more (our app's install, where Shopify asks the merchant to approve)."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from integrations.channels.shopify.credentials import SHOP_DOMAIN
from integrations.forms import ConnectForm
from integrations.services import NAME_MAX

DOMAIN_HELP = "Enter the store's myshopify.com domain, e.g. my-store.myshopify.com."


def shop_domain_clean(value: str) -> str:
    """`My-Store.myshopify.com`, `https://my-store.myshopify.com/admin` → `my-store.myshopify.com`."""
    text = value.strip().lower()
    text = re.sub(r"^https?://", "", text).split("/", 1)[0]
    if not SHOP_DOMAIN.fullmatch(text):
        raise forms.ValidationError(DOMAIN_HELP)
    return text


class ShopDomainField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("label", "Shop domain")
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "my-store.myshopify.com",
                                                           "autocomplete": "off", "spellcheck": "false"}))
        super().__init__(**kwargs)

    def clean(self, value):
        return shop_domain_clean(super().clean(value))


class ShopifyConnectForm(ConnectForm):
    """An existing custom app's Admin API access token and client secret."""

    account_field = "shop_domain"
    help_text = ("In Shopify: Settings → Apps → Develop apps → your app → API credentials. The token and "
                 "secret are stored encrypted and never shown again.")

    shop_domain = ShopDomainField()
    access_token = forms.CharField(max_length=255, label="Admin API access token", strip=True,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "off", "placeholder": "shpat_…"}))
    client_secret = forms.CharField(max_length=255, label="API secret key (client secret)", strip=True,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "off"}))

    field_order = ["name", "shop_domain", "access_token", "client_secret"]

    def credentials(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"shop_domain": d["shop_domain"], "access_token": d["access_token"], "client_secret": d["client_secret"]}


class ShopifyInstallForm(forms.Form):
    """Our app's install: only the shop is asked; Shopify asks the merchant to approve."""

    account_field = "shop_domain"

    shop_domain = ShopDomainField()
    name = forms.CharField(max_length=NAME_MAX, required=False, label="Name in Switchboard",
                           help_text="Optional; the shop domain when empty.")
