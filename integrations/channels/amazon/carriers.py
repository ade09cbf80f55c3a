"""Our carriers (orders.carriers) in Amazon's words, for when the Amazon package confirms shipments
(confirmShipment's packageDetail: `carrierCode`, and `carrierName` when the code is "Other").

The codes are Amazon's carrier code list as sellers see it [UNVERIFIED against the live SP-API: check
each against the marketplace's list when the adapter is built]; a carrier we do not map is "Other" with
its name."""

from __future__ import annotations

from orders.carriers import carrier_for

OTHER = "Other"

# Our carrier code -> Amazon's carrierCode.
CARRIER_CODES: dict[str, str] = {
    "usps": "USPS",
    "ups": "UPS",
    "fedex": "FedEx",
    "dhl_express": "DHL",
    "canada_post": "Canada Post",
    "royal_mail": "Royal Mail",
    "australia_post": "Australia Post",
    "deutsche_post": "Deutsche Post",
    "dpd": "DPD",
    "gls": "GLS",
    "la_poste": "La Poste",
    "ontrac": "OnTrac",
}


def carrier_code(carrier: str) -> tuple[str, str]:
    """(carrierCode, carrierName) for a shipment's carrier (its stored name): a mapped carrier's code and
    name, else ("Other", the name as given)."""
    found = carrier_for(carrier)
    if found is not None and found.code in CARRIER_CODES:
        return CARRIER_CODES[found.code], found.name
    return OTHER, (found.name if found else (carrier or "").strip())
