"""ShipStation API V2 payloads to and from our dataclasses: pure functions, no HTTP, no ORM.

V2 takes weights in grams and dimensions in centimetres as they are (singular units, §5.3.2), so our
grams go out unconverted and millimetres become centimetres exactly. Money is `{"currency", "amount"}`
with a JSON number, read with Decimal(str(x)); a rate's price is the sum of its four amounts and a
label's cost is its shipment cost plus its insurance cost (what the account is charged).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime

from labels.carriers.base import Address, LabelRequest, PurchasedLabel, Rate, RateQuote, TrackingInfo

RATE_AMOUNTS = ("shipping_amount", "insurance_amount", "confirmation_amount", "other_amount")
LABEL_AMOUNTS = ("shipment_cost", "insurance_cost")
# ShipStation's tracking status codes to ours (§5.3.7: the V2 spec's long codes, and the two-letter
# ShipEngine-era codes the live API may still send); anything else is opaque and changes nothing.
TRACKING_STATUSES = {"IN_TRANSIT": "in_transit", "OUT_FOR_DELIVERY": "out_for_delivery", "DELIVERED": "delivered",
                     "ATTEMPTED_DELIVERY": "exception", "RETURN_TO_SENDER": "returned",
                     "AC": "pre_transit", "NY": "pre_transit", "IT": "in_transit", "DE": "delivered",
                     "SP": "delivered", "AT": "exception", "EX": "exception"}


def amount(value: Any) -> Decimal:
    if isinstance(value, Mapping):
        value = value.get("amount")
    return Decimal(str(value)) if value is not None else Decimal("0")


def currency_of(*values: Any) -> str:
    for value in values:
        if isinstance(value, Mapping) and value.get("currency"):
            return str(value["currency"]).upper()
    return "USD"


def address_out(address: Address, *, residential: str) -> dict[str, str]:
    out = {"name": address.name or address.company, "phone": address.phone, "email": address.email,
           "company_name": address.company, "address_line1": address.line1, "address_line2": address.line2,
           "city_locality": address.city, "state_province": address.region, "postal_code": address.postcode,
           "country_code": address.country, "address_residential_indicator": residential}
    return {k: v for k, v in out.items() if v}


def shipment_out(request: LabelRequest) -> dict[str, Any]:
    parcel = request.parcel
    package: dict[str, Any] = {"package_code": "package", "weight": {"value": parcel.weight_grams, "unit": "gram"}}
    if parcel.length_mm and parcel.width_mm and parcel.height_mm:
        package["dimensions"] = {"length": parcel.length_mm / 10, "width": parcel.width_mm / 10,
                                 "height": parcel.height_mm / 10, "unit": "centimeter"}
    shipment = {"validate_address": "no_validation", "external_shipment_id": request.reference[:50],
                "ship_from": address_out(request.ship_from, residential="no"),
                "ship_to": address_out(request.ship_to, residential="unknown"), "packages": [package]}
    if request.customs:
        shipment["customs"] = customs_out(request)
    return shipment


def customs_out(request: LabelRequest) -> dict[str, Any]:
    """V2's shipment `customs` (international_shipment_options): each item's `value` is the declared
    value of one unit as V2 money, its weight one unit's, in grams."""
    items = []
    for line in request.customs:
        item = {"description": line.description[:100], "quantity": line.quantity,
                "value": {"currency": line.currency.lower(), "amount": float(line.unit_value)},
                "harmonized_tariff_code": line.hs_code, "country_of_origin": line.origin_country, "sku": line.sku,
                "weight": {"value": line.unit_weight_grams, "unit": "gram"}}
        items.append({k: v for k, v in item.items() if v != ""})
    return {"contents": "merchandise", "non_delivery": "return_to_sender", "customs_items": items}


def carriers_in(payload: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The carriers that answered, and the words of each that did not (a 207 keeps the others)."""
    carriers = [c for c in payload.get("carriers") or [] if isinstance(c, Mapping) and c.get("carrier_id")]
    return carriers, error_messages(payload.get("errors"))


def error_messages(errors: Any) -> list[str]:
    return [str(e.get("message")) for e in errors or [] if isinstance(e, Mapping) and e.get("message")]


def rates_in(payload: Mapping[str, Any]) -> RateQuote:
    response = payload.get("rate_response") or {}
    rates = []
    for r in response.get("rates") or []:
        total = sum((amount(r.get(k)) for k in RATE_AMOUNTS), Decimal("0"))
        rates.append(Rate(external_id=str(r["rate_id"]),
                          carrier=str(r.get("carrier_friendly_name") or r.get("carrier_code") or ""),
                          service=str(r.get("service_type") or r.get("service_code") or ""), amount=total,
                          currency=currency_of(*(r.get(k) for k in RATE_AMOUNTS)),
                          delivery_days=r.get("delivery_days") if isinstance(r.get("delivery_days"), int) else None,
                          carrier_data={"carrier_id": str(r.get("carrier_id") or ""),
                                        "service_code": str(r.get("service_code") or ""),
                                        "shipment_id": str(response.get("shipment_id") or payload.get("shipment_id") or "")}))
    messages = error_messages(response.get("errors"))
    for invalid in response.get("invalid_rates") or []:
        if isinstance(invalid, Mapping):
            messages += [str(m) for m in invalid.get("error_messages") or [] if m]
    return RateQuote(rates=rates, messages=messages)


def label_in(payload: Mapping[str, Any], *, carrier: str = "", service: str = "") -> PurchasedLabel:
    download = payload.get("label_download") or {}
    fmt = str(payload.get("label_format") or "pdf").lower()
    cost = sum((amount(payload.get(k)) for k in LABEL_AMOUNTS), Decimal("0"))
    return PurchasedLabel(external_id=str(payload["label_id"]), tracking_number=str(payload.get("tracking_number") or ""),
                          carrier=carrier or str(payload.get("carrier_code") or ""),
                          service=service or str(payload.get("service_code") or ""), cost_amount=cost,
                          currency=currency_of(*(payload.get(k) for k in LABEL_AMOUNTS)),
                          label_url=str(download.get(fmt) or download.get("href") or ""), label_format=fmt.upper(),
                          tracking_url=str(payload.get("tracking_url") or ""),
                          carrier_data={"label_id": str(payload["label_id"]), "shipment_id": str(payload.get("shipment_id") or "")})


def tracking_in(payload: Mapping[str, Any]) -> TrackingInfo:
    """`GET /v2/labels/{id}/track`: the status mapped ("" when unknown), the latest event's words and time
    (the exception's own description when there is one)."""
    status = TRACKING_STATUSES.get(str(payload.get("status_code") or "").upper(), "")
    events = [e for e in payload.get("events") or [] if isinstance(e, Mapping)]
    latest = max(events, key=lambda e: str(e.get("occurred_at") or ""), default={})
    description = str(payload.get("exception_description") or latest.get("description")
                      or payload.get("status_description") or "")
    occurred_at = parse_datetime(str(latest.get("occurred_at") or "")) if latest.get("occurred_at") else None
    return TrackingInfo(status=status, description=description[:500], occurred_at=occurred_at)
