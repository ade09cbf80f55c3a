"""Shipping addresses by country: which fields a parcel to that country needs and what its postcode
looks like. One table, read by the manual-order service (the page and the API alike).

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
    anything else                 line 1, city and country; a postcode, when given, is any 1 to 16
                                  letters, digits, spaces or dashes

Every address needs line 1, city and country (ISO 3166-1 alpha-2, from COUNTRIES); the recipient's
name defaults to the customer's (the manual-order service fills it in).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from core.errors import ValidationFailed

# ISO 3166-1 alpha-2 codes and their common English names (from Debian's iso-codes, 249 entries).
COUNTRIES: dict[str, str] = {
    "AD": "Andorra", "AE": "United Arab Emirates", "AF": "Afghanistan", "AG": "Antigua and Barbuda",
    "AI": "Anguilla", "AL": "Albania", "AM": "Armenia", "AO": "Angola", "AQ": "Antarctica", "AR": "Argentina",
    "AS": "American Samoa", "AT": "Austria", "AU": "Australia", "AW": "Aruba", "AX": "Åland Islands",
    "AZ": "Azerbaijan", "BA": "Bosnia and Herzegovina", "BB": "Barbados", "BD": "Bangladesh", "BE": "Belgium",
    "BF": "Burkina Faso", "BG": "Bulgaria", "BH": "Bahrain", "BI": "Burundi", "BJ": "Benin",
    "BL": "Saint Barthélemy", "BM": "Bermuda", "BN": "Brunei Darussalam", "BO": "Bolivia",
    "BQ": "Bonaire, Sint Eustatius and Saba", "BR": "Brazil", "BS": "Bahamas", "BT": "Bhutan", "BV": "Bouvet Island",
    "BW": "Botswana", "BY": "Belarus", "BZ": "Belize", "CA": "Canada", "CC": "Cocos (Keeling) Islands",
    "CD": "Congo, The Democratic Republic of the", "CF": "Central African Republic", "CG": "Congo",
    "CH": "Switzerland", "CI": "Côte d'Ivoire", "CK": "Cook Islands", "CL": "Chile", "CM": "Cameroon", "CN": "China",
    "CO": "Colombia", "CR": "Costa Rica", "CU": "Cuba", "CV": "Cabo Verde", "CW": "Curaçao",
    "CX": "Christmas Island", "CY": "Cyprus", "CZ": "Czechia", "DE": "Germany", "DJ": "Djibouti", "DK": "Denmark",
    "DM": "Dominica", "DO": "Dominican Republic", "DZ": "Algeria", "EC": "Ecuador", "EE": "Estonia", "EG": "Egypt",
    "EH": "Western Sahara", "ER": "Eritrea", "ES": "Spain", "ET": "Ethiopia", "FI": "Finland", "FJ": "Fiji",
    "FK": "Falkland Islands (Malvinas)", "FM": "Micronesia, Federated States of", "FO": "Faroe Islands",
    "FR": "France", "GA": "Gabon", "GB": "United Kingdom", "GD": "Grenada", "GE": "Georgia", "GF": "French Guiana",
    "GG": "Guernsey", "GH": "Ghana", "GI": "Gibraltar", "GL": "Greenland", "GM": "Gambia", "GN": "Guinea",
    "GP": "Guadeloupe", "GQ": "Equatorial Guinea", "GR": "Greece",
    "GS": "South Georgia and the South Sandwich Islands", "GT": "Guatemala", "GU": "Guam", "GW": "Guinea-Bissau",
    "GY": "Guyana", "HK": "Hong Kong", "HM": "Heard Island and McDonald Islands", "HN": "Honduras", "HR": "Croatia",
    "HT": "Haiti", "HU": "Hungary", "ID": "Indonesia", "IE": "Ireland", "IL": "Israel", "IM": "Isle of Man",
    "IN": "India", "IO": "British Indian Ocean Territory", "IQ": "Iraq", "IR": "Iran", "IS": "Iceland",
    "IT": "Italy", "JE": "Jersey", "JM": "Jamaica", "JO": "Jordan", "JP": "Japan", "KE": "Kenya", "KG": "Kyrgyzstan",
    "KH": "Cambodia", "KI": "Kiribati", "KM": "Comoros", "KN": "Saint Kitts and Nevis", "KP": "North Korea",
    "KR": "South Korea", "KW": "Kuwait", "KY": "Cayman Islands", "KZ": "Kazakhstan", "LA": "Laos", "LB": "Lebanon",
    "LC": "Saint Lucia", "LI": "Liechtenstein", "LK": "Sri Lanka", "LR": "Liberia", "LS": "Lesotho",
    "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia", "LY": "Libya", "MA": "Morocco", "MC": "Monaco",
    "MD": "Moldova", "ME": "Montenegro", "MF": "Saint Martin (French part)", "MG": "Madagascar",
    "MH": "Marshall Islands", "MK": "North Macedonia", "ML": "Mali", "MM": "Myanmar", "MN": "Mongolia",
    "MO": "Macao", "MP": "Northern Mariana Islands", "MQ": "Martinique", "MR": "Mauritania", "MS": "Montserrat",
    "MT": "Malta", "MU": "Mauritius", "MV": "Maldives", "MW": "Malawi", "MX": "Mexico", "MY": "Malaysia",
    "MZ": "Mozambique", "NA": "Namibia", "NC": "New Caledonia", "NE": "Niger", "NF": "Norfolk Island",
    "NG": "Nigeria", "NI": "Nicaragua", "NL": "Netherlands", "NO": "Norway", "NP": "Nepal", "NR": "Nauru",
    "NU": "Niue", "NZ": "New Zealand", "OM": "Oman", "PA": "Panama", "PE": "Peru", "PF": "French Polynesia",
    "PG": "Papua New Guinea", "PH": "Philippines", "PK": "Pakistan", "PL": "Poland",
    "PM": "Saint Pierre and Miquelon", "PN": "Pitcairn", "PR": "Puerto Rico", "PS": "Palestine, State of",
    "PT": "Portugal", "PW": "Palau", "PY": "Paraguay", "QA": "Qatar", "RE": "Réunion", "RO": "Romania",
    "RS": "Serbia", "RU": "Russian Federation", "RW": "Rwanda", "SA": "Saudi Arabia", "SB": "Solomon Islands",
    "SC": "Seychelles", "SD": "Sudan", "SE": "Sweden", "SG": "Singapore",
    "SH": "Saint Helena, Ascension and Tristan da Cunha", "SI": "Slovenia", "SJ": "Svalbard and Jan Mayen",
    "SK": "Slovakia", "SL": "Sierra Leone", "SM": "San Marino", "SN": "Senegal", "SO": "Somalia", "SR": "Suriname",
    "SS": "South Sudan", "ST": "Sao Tome and Principe", "SV": "El Salvador", "SX": "Sint Maarten (Dutch part)",
    "SY": "Syria", "SZ": "Eswatini", "TC": "Turks and Caicos Islands", "TD": "Chad",
    "TF": "French Southern Territories", "TG": "Togo", "TH": "Thailand", "TJ": "Tajikistan", "TK": "Tokelau",
    "TL": "Timor-Leste", "TM": "Turkmenistan", "TN": "Tunisia", "TO": "Tonga", "TR": "Türkiye",
    "TT": "Trinidad and Tobago", "TV": "Tuvalu", "TW": "Taiwan", "TZ": "Tanzania", "UA": "Ukraine", "UG": "Uganda",
    "UM": "United States Minor Outlying Islands", "US": "United States", "UY": "Uruguay", "UZ": "Uzbekistan",
    "VA": "Holy See (Vatican City State)", "VC": "Saint Vincent and the Grenadines", "VE": "Venezuela",
    "VG": "Virgin Islands, British", "VI": "Virgin Islands, U.S.", "VN": "Vietnam", "VU": "Vanuatu",
    "WF": "Wallis and Futuna", "WS": "Samoa", "YE": "Yemen", "YT": "Mayotte", "ZA": "South Africa", "ZM": "Zambia",
    "ZW": "Zimbabwe",
}

FIELDS = ("name", "company", "line1", "line2", "city", "region", "postal_code", "country", "phone")
MAX_LENGTH = {"name": 255, "company": 255, "line1": 255, "line2": 255, "city": 128, "region": 128,
              "postal_code": 16, "country": 2, "phone": 32}
ALWAYS_REQUIRED = ("line1", "city", "country")
ANY_POSTCODE = re.compile(r"^[A-Z0-9][A-Z0-9 -]{0,15}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{4,30}$")


@dataclass(frozen=True)
class CountryRule:
    required: tuple[str, ...] = ()  # beyond ALWAYS_REQUIRED
    postcode: str = ""  # a regular expression the whole postcode must match; empty: ANY_POSTCODE
    example: str = ""  # shown in the error
    region_label: str = "Region"
    postcode_label: str = "Postcode"


_FIVE = CountryRule(required=("postal_code",), postcode=r"\d{5}", example="75001")
_FOUR = CountryRule(required=("postal_code",), postcode=r"\d{4}", example="1000")

RULES: dict[str, CountryRule] = {
    "US": CountryRule(("region", "postal_code"), r"\d{5}(-\d{4})?", "94103 or 94103-1234", "State", "ZIP code"),
    "CA": CountryRule(("region", "postal_code"), r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d",
                      "K1A 0B1", "Province", "Postal code"),
    "AU": CountryRule(("region", "postal_code"), r"\d{4}", "2000", "State"),
    "GB": CountryRule(("postal_code",), r"(GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})", "SW1A 1AA", "County"),
    "DE": _FIVE, "FR": _FIVE, "ES": _FIVE, "IT": CountryRule(("postal_code",), r"\d{5}", "00184", "Province"),
    "MX": CountryRule(("region", "postal_code"), r"\d{5}", "06000", "State"),
    "NL": CountryRule(("postal_code",), r"\d{4} ?[A-Z]{2}", "1012 AB"),
    "BE": _FOUR, "AT": _FOUR, "CH": _FOUR, "DK": _FOUR, "NO": _FOUR, "NZ": _FOUR,
    "SE": CountryRule(("postal_code",), r"\d{3} ?\d{2}", "113 51"),
    "PL": CountryRule(("postal_code",), r"\d{2}-\d{3}", "00-950"),
    "JP": CountryRule(("region", "postal_code"), r"\d{3}-?\d{4}", "100-0001", "Prefecture"),
    "BR": CountryRule(("region", "postal_code"), r"\d{5}-?\d{3}", "01310-100", "State", "CEP"),
    "IN": CountryRule(("region", "postal_code"), r"\d{6}", "110001", "State", "PIN code"),
}
DEFAULT_RULE = CountryRule()

LABELS = {"name": "Recipient name", "company": "Company", "line1": "Address line 1", "line2": "Address line 2",
          "city": "City", "region": "Region", "postal_code": "Postcode", "country": "Country", "phone": "Phone"}


def country_choices() -> list[tuple[str, str]]:
    """(code, name) sorted by name, for the country select."""
    return sorted(COUNTRIES.items(), key=lambda item: item[1])


def rule_for(country: str) -> CountryRule:
    return RULES.get((country or "").upper(), DEFAULT_RULE)


def address_problems(data: Mapping[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """(the address cleaned, {field: message}) for a shipping address by its country's rule. Unknown keys
    are ignored; every problem is named, not only the first."""
    clean = {f: " ".join(str(data.get(f) or "").split()) for f in FIELDS}
    clean["country"] = clean["country"].upper()
    clean["postal_code"] = clean["postal_code"].upper()
    problems: dict[str, str] = {}
    for field, value in clean.items():
        if "\x00" in value:
            problems[field] = "Contains a character that is not allowed."
        elif len(value) > MAX_LENGTH[field]:
            problems[field] = f"At most {MAX_LENGTH[field]} characters."
    country = clean["country"]
    if country and country not in COUNTRIES:
        problems["country"] = "Choose a country from the list (ISO 3166-1 two-letter code)."
    rule = rule_for(country)
    labels = {**LABELS, "region": rule.region_label, "postal_code": rule.postcode_label}
    for field in (*ALWAYS_REQUIRED, *rule.required):
        if not clean[field] and field not in problems:
            where = f" for {COUNTRIES[country]}" if field in rule.required and country in COUNTRIES else ""
            problems[field] = f"{labels[field]} is required{where}."
    postcode = clean["postal_code"]
    if postcode and "postal_code" not in problems:
        pattern = re.compile(f"^(?:{rule.postcode})$") if rule.postcode else ANY_POSTCODE
        if not pattern.match(postcode):
            problems["postal_code"] = (f"{labels['postal_code']} should look like {rule.example}."
                                       if rule.example else "Letters, digits, spaces and dashes only.")
    if clean["phone"] and "phone" not in problems and not PHONE.match(clean["phone"]):
        problems["phone"] = "Digits, spaces and + ( ) - . only, at least 5 digits."
    return clean, problems


def address_clean(data: Mapping[str, object]) -> dict[str, str]:
    """The cleaned address, or ValidationFailed invalid_address naming every field's problem."""
    clean, problems = address_problems(data)
    if problems:
        raise ValidationFailed("Check the shipping address: " + " ".join(problems.values()), code="invalid_address",
                               details={"fields": problems})
    return clean
