"""A postal address as the app stores it (a JSON object), checked once.

One shape for every address we keep (the merchant's ship-from address today): name, line1,
line2, city, region, postcode, country (ISO 3166-1 alpha-2, upper case). Required: line1,
city, postcode, country. Country-specific postcode shapes are not checked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import ValidationFailed
from core.iso_codes import COUNTRIES

ADDRESS_FIELDS: dict[str, int] = {
    "name": 200, "line1": 200, "line2": 200, "city": 100, "region": 100, "postcode": 20, "country": 2,
}
REQUIRED_ADDRESS_FIELDS = ("line1", "city", "postcode", "country")


def address_clean(data: Mapping[str, Any] | None, *, allow_empty: bool = True) -> dict[str, str]:
    """The address with whitespace trimmed and the country upper-cased; ValidationFailed naming
    every bad field (details: {"field": "message"}). All fields blank is {} when allowed: an
    address not given yet, as opposed to a half-filled one."""
    data = data or {}
    unknown = sorted(set(data) - set(ADDRESS_FIELDS))
    errors: dict[str, str] = {name: "Not an address field." for name in unknown}
    cleaned: dict[str, str] = {}
    for name, max_length in ADDRESS_FIELDS.items():
        value = data.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[name] = "Must be text."
            continue
        value = " ".join(value.split())
        if "\x00" in value:
            errors[name] = "Contains a NUL character."
        elif len(value) > max_length:
            errors[name] = f"At most {max_length} characters."
        cleaned[name] = value
    if not errors and allow_empty and not any(cleaned.values()):
        return {}
    for name in REQUIRED_ADDRESS_FIELDS:
        if name not in errors and not cleaned.get(name):
            errors[name] = "Required."
    country = cleaned.get("country", "").upper()
    if "country" not in errors and country not in COUNTRIES:
        errors["country"] = "Not an ISO 3166-1 alpha-2 country code (e.g. GB, US, DE)."
    if errors:
        raise ValidationFailed("The address is not complete or not valid.", code="invalid_address",
                               details={"address": errors})
    cleaned["country"] = country
    return cleaned
