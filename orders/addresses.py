"""A manual order's shipping address: the order's own key names (`postal_code`) and fields (company,
phone) around core's check (core/address.py: which fields a country needs, its postcode's shape, its
labels), read by the manual-order service (the page and the API alike). The recipient's name defaults
to the customer's (the manual-order service fills it in)."""

from __future__ import annotations

from collections.abc import Mapping

from core.address import ADDRESS_FIELDS, PHONE, PHONE_PROBLEM
from core.address import address_problems as core_address_problems

FIELDS = ("name", "company", "line1", "line2", "city", "region", "postal_code", "country", "phone")
ORDER_ONLY = {"company": 200, "phone": 32}  # beyond the core address, with their longest length
MAX_LENGTH = {**ADDRESS_FIELDS, **ORDER_ONLY, "postal_code": ADDRESS_FIELDS["postcode"]}


def _core_key(field: str) -> str:
    return "postcode" if field == "postal_code" else field


def _order_key(field: str) -> str:
    return "postal_code" if field == "postcode" else field


def address_problems(data: Mapping[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """(the address cleaned, {field: message}) for a shipping address by its country's rule. Unknown keys
    are ignored; every problem is named, not only the first."""
    given = {_core_key(f): data.get(f) for f in FIELDS}
    given = {k: v if v is None or isinstance(v, str) else str(v) for k, v in given.items()}
    clean, problems = core_address_problems(given, extra_fields=ORDER_ONLY, named=True)
    if clean["phone"] and "phone" not in problems and not PHONE.match(clean["phone"]):
        problems["phone"] = PHONE_PROBLEM
    return ({_order_key(k): v for k, v in clean.items()}, {_order_key(k): v for k, v in problems.items()})

