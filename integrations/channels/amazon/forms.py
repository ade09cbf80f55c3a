"""What a merchant types to connect a self-authorized private SP-API app (Seller Central → Develop apps)."""

from __future__ import annotations

from typing import Any

from django import forms

from integrations.channels.amazon.credentials import marketplace_ids_clean
from integrations.forms import ConnectForm

REGION_CHOICES = [("na", "North America"), ("eu", "Europe"), ("fe", "Far East")]


class AmazonConnectForm(ConnectForm):
    """A private app's LWA credentials and refresh token, the seller id, its marketplaces and region."""

    account_field = "seller_id"
    help_text = ("In Seller Central: Apps and Services → Develop Apps → your app: View LWA credentials (client "
                 "id and secret) and Authorize app (refresh token). Settings → Account Info → Merchant Token "
                 "is the seller id. Secrets are stored encrypted and never shown again.")

    seller_id = forms.CharField(max_length=32, label="Seller id (merchant token)", strip=True,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "A1B2C3D4E5F6G7"}))
    marketplace_ids = forms.CharField(max_length=1200, label="Marketplace ids", strip=True,
                                      help_text="Comma-separated, e.g. ATVPDKIKX0DER (Amazon.com).")
    region = forms.ChoiceField(choices=REGION_CHOICES, label="Region")
    lwa_client_id = forms.CharField(max_length=255, label="LWA client id", strip=True,
                                    widget=forms.TextInput(attrs={"autocomplete": "off"}))
    lwa_client_secret = forms.CharField(max_length=255, label="LWA client secret", strip=True,
                                        widget=forms.PasswordInput(attrs={"autocomplete": "off"}))
    refresh_token = forms.CharField(max_length=2048, label="Refresh token", strip=True,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "off", "placeholder": "Atzr|…"}))

    field_order = ["name", "seller_id", "marketplace_ids", "region", "lwa_client_id", "lwa_client_secret",
                   "refresh_token"]

    def clean_seller_id(self) -> str:
        return self.cleaned_data["seller_id"].upper()

    def credentials(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"seller_id": d["seller_id"], "marketplace_ids": marketplace_ids_clean(d["marketplace_ids"]),
                "region": d["region"], "lwa_client_id": d["lwa_client_id"],
                "lwa_client_secret": d["lwa_client_secret"], "refresh_token": d["refresh_token"]}
