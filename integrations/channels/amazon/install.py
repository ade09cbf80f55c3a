"""Our published SP-API app's website authorization workflow behind the generic install/callback views:
Seller Central's consent page with our application id and a state nonce → our callback with
`spapi_oauth_code`, `selling_partner_id` and the state → the code exchanged at LWA for the seller's
refresh token (our app's client id and secret stay in settings; the integration keeps `via_app`)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings

from core.http import ExternalError
from integrations.channels.amazon.client import exchange_authorization_code
from integrations.channels.amazon.credentials import SELLER_ID, marketplace_ids_clean
from integrations.channels.amazon.forms import REGION_CHOICES
from integrations.registry import InstallFlow, InstallRefused
from integrations.services import NAME_MAX

SELLER_CENTRAL = {"na": "https://sellercentral.amazon.com", "eu": "https://sellercentral-europe.amazon.com",
                  "fe": "https://sellercentral.amazon.co.jp"}


class AmazonInstallForm(forms.Form):
    """The website workflow asks only where the seller sells; Amazon asks the seller to consent."""

    account_field = ""

    marketplace_ids = forms.CharField(max_length=1200, label="Marketplace ids", strip=True,
                                      help_text="Comma-separated, e.g. ATVPDKIKX0DER (Amazon.com).")
    region = forms.ChoiceField(choices=REGION_CHOICES, label="Region")
    name = forms.CharField(max_length=NAME_MAX, required=False, label="Name in Switchboard",
                           help_text="Optional; the seller id when empty.")

    def clean_marketplace_ids(self) -> list[str]:
        ids = marketplace_ids_clean(self.cleaned_data["marketplace_ids"])
        if not ids:
            raise forms.ValidationError("Enter at least one marketplace id.")
        return ids


class AmazonInstall(InstallFlow):
    form_class = AmazonInstallForm
    help_text = "Seller Central asks you to authorize Switchboard; you come back here connected."
    not_configured_text = ("Authorizing our app needs AMAZON_SPAPI_APPLICATION_ID, AMAZON_LWA_CLIENT_ID and "
                           "AMAZON_LWA_CLIENT_SECRET on this server. Connect a private app instead.")

    @classmethod
    def is_configured(cls) -> bool:
        return all(getattr(settings, name, "") for name in (
            "AMAZON_SPAPI_APPLICATION_ID", "AMAZON_LWA_CLIENT_ID", "AMAZON_LWA_CLIENT_SECRET"))

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        base = SELLER_CENTRAL.get(str(self.data.get("region") or "na"), SELLER_CENTRAL["na"])
        query = urlencode({"application_id": settings.AMAZON_SPAPI_APPLICATION_ID, "state": state,
                           "redirect_uri": redirect_uri})
        return f"{base}/apps/authorize/consent?{query}"

    def complete(self, params: Mapping[str, str], *, state: str, budget_key: str) -> dict[str, Any]:
        if not hmac.compare_digest(str(params.get("state") or ""), state):
            raise InstallRefused("the callback's state is not the one we issued")
        seller_id = str(params.get("selling_partner_id") or "").strip().upper()
        code = str(params.get("spapi_oauth_code") or "").strip()
        if not SELLER_ID.fullmatch(seller_id):
            raise InstallRefused("the callback names no seller")
        if not code:
            raise InstallRefused("the callback carries no authorization code")
        try:
            grant = exchange_authorization_code(code, client_id=settings.AMAZON_LWA_CLIENT_ID,
                                                client_secret=settings.AMAZON_LWA_CLIENT_SECRET,
                                                budget_key=budget_key)
        except ExternalError as exc:
            raise InstallRefused(f"Amazon did not exchange the authorization code ({exc.__class__.__name__})") from None
        return {"refresh_token": grant["refresh_token"], "seller_id": seller_id,
                "marketplace_ids": list(self.data.get("marketplace_ids") or []),
                "region": str(self.data.get("region") or "na"), "via_app": True}
