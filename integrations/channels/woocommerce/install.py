"""WooCommerce's own key-granting flow behind the generic install views (issue 15 §1; WooCommerce's
class-wc-auth.php): the merchant types the store's address, we send them to
`<store>/wc-auth/v1/authorize?app_name=…&scope=read_write&user_id=<install id>&return_url=…&callback_url=…`,
they approve in wp-admin, and WooCommerce POSTs the new key to `callback_url` server to server (JSON
`key_id`, `user_id`, `consumer_key`, `consumer_secret`, `key_permissions`; only an exact 200 counts, anything
else deletes the key and shows the merchant an error), then sends the browser to `return_url` with
`success=1&user_id=…` (`success=0` when they declined).

WooCommerce refuses a `callback_url` that is not https ("The callback_url needs to be over SSL"), so the
flow is offered only when WEBHOOK_BASE_URL (our public https address the channels call) is set; the keys
URL is under it. `user_id` is the pending install's random id (integrations.installs), never a user's id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings

from core.forms import PublicUrlField
from core.http import Rejected
from integrations.channels.woocommerce.credentials import store_url_clean
from integrations.forms import NAME_MAX
from integrations.registry import InstallFlow, InstallRefused

APP_NAME = "Switchboard"
SCOPE = "read_write"
MAX_BODY = 16 * 1024  # five short strings and a number


class WooCommerceInstallForm(forms.Form):
    """Only the store's address: WooCommerce asks the merchant to sign in and approve."""

    account_field = "store_url"

    store_url = PublicUrlField(max_length=255, label="Store URL",
                               widget=forms.URLInput(attrs={"placeholder": "https://shop.example.com",
                                                            "autocomplete": "off", "spellcheck": "false"}))
    name = forms.CharField(max_length=NAME_MAX, required=False, label="Name in Switchboard",
                           help_text="Optional; the store's address when empty.")

    def clean_store_url(self) -> str:
        try:
            return store_url_clean(self.cleaned_data["store_url"])
        except Rejected as exc:
            raise forms.ValidationError(f"Enter the store's address (https://...): {exc.message}") from exc


def _posted(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise InstallRefused("the keys must be posted as JSON")
    if len(body) > MAX_BODY:
        raise InstallRefused("the body is too large for a key delivery")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InstallRefused("the body is not JSON") from None
    if not isinstance(data, dict):
        raise InstallRefused("the body is not a JSON object")
    return data


class WooCommerceInstall(InstallFlow):
    form_class = WooCommerceInstallForm
    help_text = ("WooCommerce asks you to sign in to your store and approve Read/Write access; it then hands "
                 "us a REST API key. Nothing to copy.")
    not_configured_text = ("Approving in WooCommerce needs this server's public https address "
                           "(WEBHOOK_BASE_URL): WooCommerce sends the key only over https. Use a REST API key "
                           "instead.")
    action_text = "Approve access in WooCommerce"
    credentials_by_post = True
    state_param = "user_id"

    @classmethod
    def is_configured(cls) -> bool:
        return str(getattr(settings, "WEBHOOK_BASE_URL", "") or "").startswith("https://")

    @property
    def store_url(self) -> str:
        return str(self.data.get("store_url") or "")

    def authorize_url(self, state: str, redirect_uri: str, *, post_url: str = "") -> str:
        query = urlencode({"app_name": APP_NAME, "scope": SCOPE, "user_id": state, "return_url": redirect_uri,
                           "callback_url": post_url})
        return f"{self.store_url}/wc-auth/v1/authorize?{query}"

    @classmethod
    def posted_state(cls, body: bytes, content_type: str) -> str:
        user_id = _posted(body, content_type).get("user_id")
        if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 128:
            raise InstallRefused("the delivery names no install (user_id)")
        return user_id.strip()

    def complete_posted(self, body: bytes, content_type: str) -> dict[str, Any]:
        data = _posted(body, content_type)
        permissions = data.get("key_permissions")
        if permissions != SCOPE:
            raise InstallRefused(f"the key allows {permissions!r}, not {SCOPE!r}: stock and tracking need "
                                 "Read/Write")
        credentials: dict[str, Any] = {"store_url": self.store_url}
        for name in ("consumer_key", "consumer_secret"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise InstallRefused(f"the delivery carries no {name}")
            credentials[name] = value
        key_id = data.get("key_id")
        if isinstance(key_id, int) and not isinstance(key_id, bool):
            credentials["key_id"] = key_id
        return credentials

    def returned_refused(self, params: Mapping[str, str]) -> str:
        if params.get("success") == "1":
            return ""
        return "you did not approve the access in WooCommerce"
