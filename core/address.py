"""Postal addresses: one check for every address the app keeps, by its country's rule.

An address is a JSON object with the keys name, line1, line2, city, region, postcode, country
(ISO 3166-1 alpha-2, upper case). Every address needs line 1, city and country; each country may
also need a region and a postcode, and says what its postcode looks like and what its region and
postcode are called there (RULES). The merchant's ship-from address (accounts) and a manual
order's shipping address (orders, which names the postcode `postal_code` and adds company and
phone) are both checked here, so a country's rule is written once.

    country   also required       postcode shape (after upper-casing, spaces collapsed)
    US        state, ZIP code     12345 or 12345-6789
    CA        province, postcode  A1A 1A1
    AU        state, postcode     4 digits
    GB        postcode            SW1A 1AA (outward code, space optional, inward code)
    DE FR ES IT MX   postcode     5 digits          (MX also a state)
    NL        postcode            1234 AB
    BE AT CH DK NO NZ postcode    4 digits
    SE        postcode            123 45
    PL        postcode            12-345
    JP        prefecture, postcode 123-4567
    BR        state, CEP          12345-678
    IN        state, PIN code     6 digits
    anything else                 a postcode, when given, is any 1 to 16 letters, digits, spaces
                                  or dashes
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import ValidationFailed
from core.iso_codes import COUNTRIES, REGIONS

ADDRESS_FIELDS: dict[str, int] = {
    "name": 200, "line1": 200, "line2": 200, "city": 100, "region": 100, "postcode": 20, "country": 2,
}
ALWAYS_REQUIRED = ("line1", "city", "country")
# A ship-from address always has a postcode: carriers print it on every label. Its phone is optional
# here but some carriers refuse a label without it (ShipStation), in their own words.
SHIP_FROM_REQUIRED = ("line1", "city", "postcode", "country")
SHIP_FROM_EXTRA = {"phone": 32}
PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{4,30}$")
PHONE_PROBLEM = "Digits, spaces and + ( ) - . only, at least 5 digits."
ANY_POSTCODE = re.compile(r"^[A-Z0-9][A-Z0-9 -]{0,15}$")
REQUIRED = "Required."


@dataclass(frozen=True)
class CountryRule:
    required: tuple[str, ...] = ()  # beyond ALWAYS_REQUIRED
    postcode: str = ""  # a regular expression the whole postcode must match; empty: ANY_POSTCODE
    example: str = ""  # shown in the error and as the field's placeholder
    region_label: str = "Region"
    postcode_label: str = "Postcode"


_FIVE = CountryRule(required=("postcode",), postcode=r"\d{5}", example="75001")
_FOUR = CountryRule(required=("postcode",), postcode=r"\d{4}", example="1000")

RULES: dict[str, CountryRule] = {
    "US": CountryRule(("region", "postcode"), r"\d{5}(-\d{4})?", "94103 or 94103-1234", "State", "ZIP code"),
    "CA": CountryRule(("region", "postcode"), r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d",
                      "K1A 0B1", "Province", "Postal code"),
    "AU": CountryRule(("region", "postcode"), r"\d{4}", "2000", "State"),
    "GB": CountryRule(("postcode",), r"(GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})", "SW1A 1AA", "County"),
    "DE": _FIVE, "FR": _FIVE, "ES": _FIVE, "IT": CountryRule(("postcode",), r"\d{5}", "00184", "Province"),
    "MX": CountryRule(("region", "postcode"), r"\d{5}", "06000", "State"),
    "NL": CountryRule(("postcode",), r"\d{4} ?[A-Z]{2}", "1012 AB"),
    "BE": _FOUR, "AT": _FOUR, "CH": _FOUR, "DK": _FOUR, "NO": _FOUR, "NZ": _FOUR,
    "SE": CountryRule(("postcode",), r"\d{3} ?\d{2}", "113 51"),
    "PL": CountryRule(("postcode",), r"\d{2}-\d{3}", "00-950"),
    "JP": CountryRule(("region", "postcode"), r"\d{3}-?\d{4}", "100-0001", "Prefecture"),
    "BR": CountryRule(("region", "postcode"), r"\d{5}-?\d{3}", "01310-100", "State", "CEP"),
    "IN": CountryRule(("region", "postcode"), r"\d{6}", "110001", "State", "PIN code"),
}
DEFAULT_RULE = CountryRule()

LABELS = {"name": "Name", "line1": "Address line 1", "line2": "Address line 2", "city": "City",
          "country": "Country"}


def country_choices() -> list[tuple[str, str]]:
    """(code, name) sorted by name, for a country select."""
    return sorted(COUNTRIES.items(), key=lambda item: item[1])


def region_choices(country: str) -> list[tuple[str, str]]:
    """(code, name) of the country's regions sorted by name (core.iso_codes.REGIONS), empty for a country
    without a list: a select for those, a text box for the rest."""
    return sorted(REGIONS.get((country or "").upper(), {}).items(), key=lambda item: item[1])


def region_clean(country: str, value: str) -> str | None:
    """The region's code when `value` is one of the country's regions by code or name (any case), `value`
    as it is for a country without a list, None when the country has a list and it is not on it."""
    regions = REGIONS.get((country or "").upper())
    if not regions or not value:
        return value
    if value.upper() in regions:
        return value.upper()
    by_name = {name.casefold(): code for code, name in regions.items()}
    return by_name.get(value.casefold())


def rule_for(country: str) -> CountryRule:
    return RULES.get((country or "").upper(), DEFAULT_RULE)


def address_problems(data: Mapping[str, Any] | None, *, required: tuple[str, ...] = ALWAYS_REQUIRED,
                     extra_fields: Mapping[str, int] | None = None, named: bool = False,
                     allow_empty: bool = False) -> tuple[dict[str, str], dict[str, str]]:
    """(the address tidied, {field: message}) by its country's rule; every problem is named, not only
    the first. `extra_fields` ({name: max length}) are a caller's own free-text keys, tidied the same
    way; any other key is a problem. `named`: the messages name their field ("ZIP code is required
    for United States."), for a caller that joins them into one sentence; otherwise they stand beside
    their field ("Required."). All fields blank is ({}, {}) when `allow_empty`: an address not given
    yet, as opposed to a half-filled one."""
    data = data or {}
    limits = {**ADDRESS_FIELDS, **(extra_fields or {})}
    problems: dict[str, str] = {name: "Not an address field." for name in sorted(set(data) - set(limits))}
    clean: dict[str, str] = {}
    for name, max_length in limits.items():
        value = data.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            problems[name] = "Must be text."
            continue
        value = " ".join(value.split())
        if "\x00" in value:
            problems[name] = "Contains a NUL character."
        elif len(value) > max_length:
            problems[name] = f"At most {max_length} characters."
        clean[name] = value
    if not problems and allow_empty and not any(clean.values()):
        return {}, {}
    clean["country"] = country = clean.get("country", "").upper()
    clean["postcode"] = postcode = clean.get("postcode", "").upper()
    if country and "country" not in problems and country not in COUNTRIES:
        problems["country"] = ("Choose a country from the list (ISO 3166-1 two-letter code)." if named else
                               "Not an ISO 3166-1 alpha-2 country code (e.g. GB, US, DE).")
    rule = rule_for(country)
    labels = {**LABELS, "region": rule.region_label, "postcode": rule.postcode_label}
    for name in dict.fromkeys((*required, *rule.required)):
        if not clean.get(name) and name not in problems:
            where = f" for {COUNTRIES[country]}" if name in rule.required and country in COUNTRIES else ""
            problems[name] = f"{labels[name]} is required{where}." if named else REQUIRED
    if clean.get("region") and "region" not in problems and country in COUNTRIES:
        region = region_clean(country, clean["region"])
        if region is None:
            problems["region"] = (f"{labels['region']} should be one of {COUNTRIES[country]}'s, from the list."
                                  if named else "Choose one from the list.")
        else:
            clean["region"] = region
    if postcode and "postcode" not in problems:
        pattern = re.compile(f"^(?:{rule.postcode})$") if rule.postcode else ANY_POSTCODE
        if not pattern.match(postcode):
            problems["postcode"] = (f"{labels['postcode']} should look like {rule.example}."
                                    if rule.example else "Letters, digits, spaces and dashes only.")
    return clean, problems


def address_clean(data: Mapping[str, Any] | None, *, allow_empty: bool = True) -> dict[str, str]:
    """The merchant's (or a location's) ship-from address tidied, with its optional phone, or
    ValidationFailed invalid_address naming every bad field (details: {"address": {field: message}}).
    All fields blank is {} when allowed."""
    clean, problems = address_problems(data, required=SHIP_FROM_REQUIRED, extra_fields=SHIP_FROM_EXTRA,
                                       allow_empty=allow_empty)
    if clean.get("phone") and "phone" not in problems and not PHONE.match(clean["phone"]):
        problems["phone"] = PHONE_PROBLEM
    if problems:
        raise ValidationFailed("The address is not complete or not valid.", code="invalid_address",
                               details={"address": problems})
    return clean
