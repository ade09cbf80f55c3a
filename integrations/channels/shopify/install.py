"""Our Shopify app's install (OAuth authorization code grant, reference §1.2.3) behind the generic
install/callback views: the authorize URL for a shop, and the callback's query checked (HMAC, shop,
state, age) before the code is exchanged for an expiring offline token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from core.http import ExternalError
from integrations.channels.shopify.adapter import ShopifyAdapter
from integrations.channels.shopify.client import OAuthRefused, authorize_url, exchange_code, verify_callback
from integrations.channels.shopify.forms import ShopifyInstallForm
from integrations.registry import InstallFlow, InstallRefused


class ShopifyInstall(InstallFlow):
    form_class = ShopifyInstallForm
    help_text = "Shopify asks you to approve the app; you come back here connected. Nothing to copy."
    not_configured_text = ("Installing our app needs SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET on this "
                           "server. Use an existing custom app instead.")

    @classmethod
    def is_configured(cls) -> bool:
        return bool(getattr(settings, "SHOPIFY_CLIENT_ID", "") and getattr(settings, "SHOPIFY_CLIENT_SECRET", ""))

    @property
    def shop(self) -> str:
        return str(self.data.get("shop_domain") or "")

    def authorize_url(self, state: str, redirect_uri: str) -> str:
        return authorize_url(shop=self.shop, client_id=settings.SHOPIFY_CLIENT_ID,
                             scopes=ShopifyAdapter.required_scopes, state=state, redirect_uri=redirect_uri)

    def complete(self, params: Mapping[str, str], *, state: str, budget_key: str) -> dict[str, Any]:
        try:
            shop = verify_callback(params, client_secret=settings.SHOPIFY_CLIENT_SECRET, expected_state=state)
        except OAuthRefused as exc:
            raise InstallRefused(str(exc)) from None
        if shop != self.shop:
            raise InstallRefused(f"the callback names {shop}, not the store you started installing")
        code = params.get("code") or ""
        if not code:
            raise InstallRefused("the callback carries no authorization code")
        try:
            return exchange_code(shop=shop, code=code, client_id=settings.SHOPIFY_CLIENT_ID,
                                 client_secret=settings.SHOPIFY_CLIENT_SECRET, budget_key=budget_key)
        except ExternalError as exc:
            raise InstallRefused(f"Shopify did not exchange the code ({exc.__class__.__name__})") from None
