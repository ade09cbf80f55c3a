"""The form of Shopify credentials: a *.myshopify.com domain and either a custom app's access token with
its client secret, or the tokens our OAuth install flow stored."""

from __future__ import annotations

import re
from typing import Any

from core.errors import ValidationFailed
from core.http import AuthFailed, ExternalError, Throttled, Transient

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$", re.ASCII)
TOKEN_FIELDS = ("access_token", "client_secret")
# Written by the install flow's callback (install.py), never typed by a merchant.
OAUTH_FIELDS = ("access_token", "refresh_token", "access_token_expires_at", "refresh_token_expires_at", "scopes")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def shopify_credentials_validate(credentials: dict[str, Any], *, from_install: bool = False) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    domain = _text(credentials.get("shop_domain")).lower()
    if not SHOP_DOMAIN.fullmatch(domain):
        errors["shop_domain"] = ["Enter the store's myshopify.com domain, e.g. my-store.myshopify.com."]
    cleaned: dict[str, Any] = {"shop_domain": domain}
    if from_install:
        cleaned.update({k: credentials[k] for k in OAUTH_FIELDS if k in credentials})
        if not _text(credentials.get("access_token")):
            errors["access_token"] = ["The OAuth grant has no access token."]
    else:
        for name in TOKEN_FIELDS:
            value = _text(credentials.get(name))
            if not value or "\x00" in value or len(value) > 255:
                errors[name] = ["This field is required (the custom app's API credentials)."]
            cleaned[name] = value
    unknown = sorted(set(credentials) - set(cleaned) - set(OAUTH_FIELDS))
    for name in unknown:
        errors[name] = ["Unknown credential field."]
    if errors:
        raise ValidationFailed("The Shopify credentials are not valid.", details={"fields": errors})
    return cleaned


def shopify_account_ref(credentials: dict[str, Any]) -> str:
    """The store's account id: its myshopify.com domain (what X-Shopify-Shop-Domain names)."""
    return str(credentials.get("shop_domain") or "").strip().lower()


def shopify_error_words(exc: ExternalError) -> str:
    """What a merchant reads when Shopify refuses or fails a call (a connection test, a sync)."""
    if isinstance(exc, AuthFailed):
        return ("Shopify refused the access token. Check that it was copied whole and that the app is "
                "still installed on the store.")
    if isinstance(exc, Throttled):
        return "Shopify asked us to slow down; try again in a minute."
    if isinstance(exc, Transient):
        return "Shopify did not answer in time; try again in a moment."
    if exc.status == 404:
        return "Shopify has no store at that domain."
    return "Shopify refused the request."
