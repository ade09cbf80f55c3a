"""The form of Amazon credentials: a self-authorized private app's LWA refresh token, client id and secret,
the seller id, its marketplaces and region; or what the website authorization workflow stored (the seller's
refresh token for our published app, whose client id and secret stay in settings)."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from core.errors import ValidationFailed
from core.http import AuthFailed, ExternalError, Throttled, Transient
from integrations.channels.amazon.client import REGIONS, AmazonClient, LwaClientRefused, LwaGrantRefused
from integrations.channels.amazon.mapping import MARKETPLACE_CURRENCY

SELLER_ID = re.compile(r"^A[0-9A-Z]{5,20}$")
MARKETPLACE_ID = re.compile(r"^A[0-9A-Z]{5,20}$")
APP_FIELDS = ("refresh_token", "lwa_client_id", "lwa_client_secret")
# Written by the install flow's callback (install.py), never typed: the seller's token for our own app.
INSTALL_FIELDS = ("refresh_token", "seller_id", "marketplace_ids", "region", "via_app")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def marketplace_ids_clean(value: Any) -> list[str]:
    """"ATVPDKIKX0DER, A2EUQ1WTGCTBG2" or a list → the ids, order kept, duplicates dropped."""
    parts = value if isinstance(value, list | tuple) else re.split(r"[\s,]+", _text(value))
    return list(dict.fromkeys(_text(p).upper() for p in parts if _text(p)))


def amazon_credentials_validate(credentials: dict[str, Any], *, from_install: bool = False) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    seller_id = _text(credentials.get("seller_id")).upper()
    if not SELLER_ID.fullmatch(seller_id):
        errors["seller_id"] = ["Enter the seller (merchant token) id from Seller Central, e.g. A1B2C3D4E5F6G7."]
    markets = marketplace_ids_clean(credentials.get("marketplace_ids"))
    if not markets or len(markets) > 50 or not all(MARKETPLACE_ID.fullmatch(m) for m in markets):
        errors["marketplace_ids"] = ["Enter one to fifty marketplace ids, e.g. ATVPDKIKX0DER for Amazon.com."]
    unknown = [m for m in markets if m not in MARKETPLACE_CURRENCY]
    if markets and unknown and "marketplace_ids" not in errors:
        errors["marketplace_ids"] = [f"Unknown marketplace id(s): {', '.join(unknown)}."]
    region = _text(credentials.get("region")).lower()
    if region not in REGIONS:
        errors["region"] = ["Choose the region of the seller's account: na, eu or fe."]
    cleaned: dict[str, Any] = {"seller_id": seller_id, "marketplace_ids": markets, "region": region}
    names = ("refresh_token",) if from_install else APP_FIELDS
    for name in names:
        value = _text(credentials.get(name))
        if not value or "\x00" in value or len(value) > 2048:
            errors[name] = ["This field is required (the app's Login with Amazon credentials)."]
        cleaned[name] = value
    if from_install:
        cleaned["via_app"] = True
    allowed = set(cleaned) | set(INSTALL_FIELDS)
    for name in sorted(set(credentials) - allowed):
        errors[name] = ["Unknown credential field."]
    if errors:
        raise ValidationFailed("The Amazon credentials are not valid.", details={"fields": errors})
    outside = marketplaces_not_participating(cleaned)
    if outside:
        raise ValidationFailed("The Amazon credentials are not valid.", details={"fields": {"marketplace_ids": [
            f"The seller's account does not sell in {', '.join(outside)}: enter only marketplaces it sells in."]}})
    return cleaned


def marketplaces_not_participating(cleaned: dict[str, Any]) -> list[str]:
    """The store's marketplace ids the seller's account does not sell in, asked of Amazon once and briefly
    (getMarketplaceParticipations). A call that fails here decides nothing: refused credentials or an
    unreachable Amazon are the connect job's to report, with the doctor's wording."""
    client_id, client_secret = app_credentials(cleaned)
    client = AmazonClient(seller_id=cleaned["seller_id"], region=cleaned["region"],
                          refresh_token=cleaned["refresh_token"], client_id=client_id, client_secret=client_secret,
                          interactive=True)
    try:
        participating = client.participating_marketplace_ids()
    except ExternalError:
        return []
    return [m for m in cleaned["marketplace_ids"] if m not in participating]


def app_credentials(credentials: dict[str, Any]) -> tuple[str, str]:
    """(client id, secret) of the LWA app the refresh token belongs to: the seller's private app's, or ours."""
    if credentials.get("via_app"):
        return settings.AMAZON_LWA_CLIENT_ID, settings.AMAZON_LWA_CLIENT_SECRET
    return str(credentials.get("lwa_client_id") or ""), str(credentials.get("lwa_client_secret") or "")


def amazon_account_ref(credentials: dict[str, Any]) -> str:
    """The store's account id: the seller id (one account across its marketplaces)."""
    return str(credentials.get("seller_id") or "").strip().upper()


def amazon_error_words(exc: ExternalError) -> str:
    """What a merchant reads when Amazon refuses or fails a call."""
    if isinstance(exc, LwaGrantRefused):
        return ("Amazon no longer accepts this store's authorization (the refresh token was revoked or is "
                "wrong). Authorize Switchboard again in Seller Central and reconnect.")
    if isinstance(exc, LwaClientRefused):
        return ("Amazon refused the app's Login with Amazon credentials: check the LWA client id and client "
                "secret (Seller Central → Develop apps → View LWA credentials; a rotated secret must be entered "
                "again).")
    if isinstance(exc, AuthFailed):
        return "Amazon refused the access: check that the app is authorized for this seller and its roles."
    if isinstance(exc, Throttled):
        return "Amazon asked us to slow down (its rate plan); we will try again shortly."
    if isinstance(exc, Transient):
        return "Amazon did not answer; try again in a moment."
    return "Amazon refused the request."
