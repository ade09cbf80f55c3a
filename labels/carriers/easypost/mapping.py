"""EasyPost payloads to and from our dataclasses: pure functions, no HTTP, no ORM.

EasyPost takes ounces and inches (reference §4.2); we keep grams and millimetres. The conversion
happens here and only here, once per parcel: weight to hundredths of an ounce, dimensions to tenths of
an inch, each rounded half up (1,000 g = 35.27 oz).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from labels.carriers.base import Address, LabelRequest, Parcel, PurchasedLabel, Rate, RateQuote

GRAMS_PER_OUNCE = Decimal("28.349523125")  # the avoirdupois ounce, exactly
MM_PER_INCH = Decimal("25.4")  # exactly


def grams_to_ounces(grams: int) -> Decimal:
    return (Decimal(grams) / GRAMS_PER_OUNCE).quantize(Decimal("0.01"), ROUND_HALF_UP)


def mm_to_inches(mm: int) -> Decimal:
    return (Decimal(mm) / MM_PER_INCH).quantize(Decimal("0.1"), ROUND_HALF_UP)


def address_out(address: Address) -> dict[str, str]:
    out = {"name": address.name, "company": address.company, "street1": address.line1,
           "street2": address.line2, "city": address.city, "state": address.region, "zip": address.postcode,
           "country": address.country, "phone": address.phone, "email": address.email}
    return {k: v for k, v in out.items() if v}


def parcel_out(parcel: Parcel) -> dict[str, float]:
    """Ounces and inches, as JSON numbers. The three dimensions go together or not at all (EasyPost
    refuses one without the others)."""
    out = {"weight": float(grams_to_ounces(parcel.weight_grams))}
    dims = (parcel.length_mm, parcel.width_mm, parcel.height_mm)
    if all(d for d in dims):
        out.update(length=float(mm_to_inches(parcel.length_mm)), width=float(mm_to_inches(parcel.width_mm)),
                   height=float(mm_to_inches(parcel.height_mm)))
    return out


def customs_info_out(request: LabelRequest) -> dict[str, Any]:
    """EasyPost's customs_info (reference §4.2): each item's `value` and `weight` are the line's totals
    (unit × quantity), the weight in ounces; certified by the ship-from's name; under $2,500 a line the
    NOEEI 30.37(a) exemption."""
    items = [{"description": line.description[:255], "quantity": line.quantity,
              "value": float(line.unit_value * line.quantity), "currency": line.currency,
              "weight": float(grams_to_ounces(line.unit_weight_grams * line.quantity)),
              "hs_tariff_number": line.hs_code, "origin_country": line.origin_country, "code": line.sku}
             for line in request.customs]
    return {"contents_type": "merchandise", "customs_certify": True,
            "customs_signer": request.ship_from.name or request.ship_from.company, "eel_pfc": "NOEEI 30.37(a)",
            "non_delivery_option": "return", "restriction_type": "none",
            "customs_items": [{k: v for k, v in item.items() if v not in ("", None)} for item in items]}


def shipment_params(request: LabelRequest) -> dict[str, Any]:
    """The body of POST /v2/shipments (the SDK wraps it in {"shipment": ...}); customs for a parcel
    that crosses a border."""
    params = {"to_address": address_out(request.ship_to), "from_address": address_out(request.ship_from),
              "parcel": parcel_out(request.parcel), "reference": request.reference,
              "options": {"label_format": request.label_format.upper(), "invoice_number": request.reference}}
    if request.customs:
        params["customs_info"] = customs_info_out(request)
    return params


def _rate(payload: Mapping[str, Any]) -> Rate:
    days = payload.get("delivery_days") if payload.get("delivery_days") is not None else payload.get("est_delivery_days")
    return Rate(external_id=str(payload["id"]), carrier=str(payload.get("carrier") or ""),
                service=str(payload.get("service") or ""), amount=Decimal(str(payload["rate"])),
                currency=str(payload.get("currency") or "USD"), delivery_days=int(days) if days is not None else None,
                carrier_data={"shipment_id": str(payload.get("shipment_id") or "")})


def rates_from_shipment(shipment: Mapping[str, Any]) -> RateQuote:
    """The shipment's rates, and each `messages[]` entry's text exactly as the carrier wrote it."""
    messages = [str(m.get("message") or "") for m in shipment.get("messages") or [] if isinstance(m, Mapping)]
    return RateQuote(rates=[_rate(r) for r in shipment.get("rates") or []], messages=[m for m in messages if m])


def label_from_shipment(shipment: Mapping[str, Any]) -> PurchasedLabel:
    """A bought shipment as our label: the cost is the selected rate's `rate` (what the account pays)."""
    rate = shipment.get("selected_rate") or {}
    postage = shipment.get("postage_label") or {}
    fmt = str((shipment.get("options") or {}).get("label_format") or "PNG").upper()
    url = {"PDF": postage.get("label_pdf_url"), "ZPL": postage.get("label_zpl_url")}.get(fmt) or postage.get("label_url")
    tracker = shipment.get("tracker") or {}
    return PurchasedLabel(external_id=str(shipment["id"]), tracking_number=str(shipment.get("tracking_code") or ""),
                          carrier=str(rate.get("carrier") or ""), service=str(rate.get("service") or ""),
                          cost_amount=Decimal(str(rate.get("rate") or "0")), currency=str(rate.get("currency") or "USD"),
                          label_url=str(url or ""), label_format=fmt, tracking_url=str(tracker.get("public_url") or ""),
                          carrier_data={"shipment_id": str(shipment["id"]), "rate_id": str(rate.get("id") or "")})
