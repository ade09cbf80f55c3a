"""The form of Shopify credentials: a *.myshopify.com domain and either a custom app's access token with
its client secret, or the tokens our OAuth install flow stored."""

from __future__ import annotations

import re
from typing import Any

from core.errors import ValidationFailed

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$", re.ASCII)
TOKEN_FIELDS = ("access_token", "client_secret")
# Written by the OAuth callback (integrations' OAuth view), never typed by a merchant.
OAUTH_FIELDS = ("access_token", "refresh_token", "access_token_expires_at", "refresh_token_expires_at", "scopes")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def shopify_credentials_validate(credentials: dict[str, Any], *, from_oauth: bool = False) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    domain = _text(credentials.get("shop_domain")).lower()
    if not SHOP_DOMAIN.fullmatch(domain):
        errors["shop_domain"] = ["Enter the store's myshopify.com domain, e.g. my-store.myshopify.com."]
    cleaned: dict[str, Any] = {"shop_domain": domain}
    if from_oauth:
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
