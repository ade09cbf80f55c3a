"""What a merchant types to connect a WooCommerce store: the store's address and a REST API key's consumer
key and secret (WooCommerce → Settings → Advanced → REST API, permissions Read/Write)."""

from __future__ import annotations

from typing import Any

from django import forms

from core.forms import PublicUrlField
from integrations.forms import ConnectForm


class WooCommerceConnectForm(ConnectForm):
    """The store URL through PublicUrlField (https and public; plain http only for an allowed private host)."""

    account_field = "store_url"
    help_text = ("In WordPress: WooCommerce → Settings → Advanced → REST API → Add key, with Read/Write "
                 "permissions. The key and secret are stored encrypted and never shown again. For the stock we "
                 "push to count, we turn WooCommerce's \"Manage stock\" on for each listed product.")

    store_url = PublicUrlField(max_length=255, label="Store URL",
                               widget=forms.URLInput(attrs={"placeholder": "https://shop.example.com",
                                                            "autocomplete": "off", "spellcheck": "false"}))
    consumer_key = forms.CharField(max_length=255, label="Consumer key", strip=True,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "off", "placeholder": "ck_…"}))
    consumer_secret = forms.CharField(max_length=255, label="Consumer secret", strip=True,
                                      widget=forms.PasswordInput(attrs={"autocomplete": "off", "placeholder": "cs_…"}))

    field_order = ["name", "store_url", "consumer_key", "consumer_secret"]

    def credentials(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"store_url": d["store_url"], "consumer_key": d["consumer_key"], "consumer_secret": d["consumer_secret"]}
