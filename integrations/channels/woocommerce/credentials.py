"""The form of WooCommerce credentials: the store's URL (https and public, or plain http only for a host
in OUTBOUND_ALLOWED_PRIVATE_HOSTS, by core.http.url_check), a REST API consumer key and secret, and the
webhook secret we make ourselves (adapter.py); and the words a merchant reads when WooCommerce refuses us."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.errors import ValidationFailed
from core.http import AuthFailed, ExternalError, Rejected, Throttled, Transient, url_check

KEY_FIELDS = ("consumer_key", "consumer_secret")
# Written by us, never typed: the secret our webhooks are signed with, and the install's key id.
OWN_FIELDS = ("webhook_secret", "key_id")
KEY_PREFIXES = {"consumer_key": "ck_", "consumer_secret": "cs_"}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def store_url_clean(value: str) -> str:
    """`https://Shop.Example/` → `https://shop.example` (the site's home URL, no path's trailing slash);
    Rejected with url_check's words for what we must not call."""
    text = value.strip()
    if text and "://" not in text:
        text = "https://" + text
    url_check(text)
    parts = urlsplit(text)
    if parts.query or parts.fragment:
        raise Rejected("the store URL must not carry a query or a fragment")
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def woocommerce_credentials_validate(credentials: dict[str, Any], *, from_install: bool = False) -> dict[str, Any]:
    """The API's and the form's check: each error names its field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    try:
        cleaned["store_url"] = store_url_clean(_text(credentials.get("store_url")))
    except Rejected as exc:
        errors["store_url"] = [f"Enter the store's address (https://...): {exc.message}"]
    for name in KEY_FIELDS:
        value = _text(credentials.get(name))
        if not value or "\x00" in value or len(value) > 255 or not value.startswith(KEY_PREFIXES[name]):
            errors[name] = [f"Enter the REST API key's {name.replace('_', ' ')} (it starts with "
                            f"{KEY_PREFIXES[name]})."]
        cleaned[name] = value
    for name in OWN_FIELDS:
        if name in credentials and (from_install or name == "webhook_secret"):
            cleaned[name] = credentials[name]
    for name in sorted(set(credentials) - set(cleaned) - set(OWN_FIELDS)):
        errors[name] = ["Unknown credential field."]
    if errors:
        raise ValidationFailed("The WooCommerce credentials are not valid.", details={"fields": errors})
    return cleaned


def woocommerce_account_ref(credentials: dict[str, Any]) -> str:
    """The store's account: its URL as cleaned (what the webhooks' X-WC-Webhook-Source names)."""
    return str(credentials.get("store_url") or "").strip().rstrip("/").lower()


def woocommerce_error_words(exc: ExternalError) -> str:
    """What a merchant reads when WooCommerce refuses or fails a call (a connection test, a sync)."""
    code = str(getattr(exc, "code", "") or "")
    if isinstance(exc, AuthFailed):
        if code in ("woocommerce_rest_cannot_edit", "woocommerce_rest_cannot_batch") \
                or "write permissions" in str(exc):
            return ("WooCommerce accepted the key but not for writing: give the REST API key Read/Write "
                    "permissions (WooCommerce → Settings → Advanced → REST API).")
        return ("WooCommerce refused the consumer key and secret. Check that both were copied whole and that "
                "the key still exists (WooCommerce → Settings → Advanced → REST API).")
    if isinstance(exc, Throttled):
        return "The store asked us to wait (maintenance or too many requests); we try again shortly."
    if isinstance(exc, Transient):
        return "The store did not answer in time or failed; try again in a moment."
    if code == "wp_json_missing":
        return ("The store's REST API is not reachable at /wp-json/: turn on pretty permalinks "
                "(WordPress → Settings → Permalinks, anything but \"Plain\").")
    if isinstance(exc, Rejected) and exc.status is None:
        return f"We will not call that address: {exc}"
    return "WooCommerce refused the request."
