"""Our carriers (orders.carriers) in Shopify's words: the tracking company names Shopify knows, written
exactly as its list has them (capitalization matters: FulfillmentTrackingInfo's "Supported tracking
companies"). For a known name Shopify builds the tracking link and follows the parcel itself; any other
carrier is sent by the name the merchant gave, with our tracking link."""

from __future__ import annotations

from orders.carriers import carrier_for

# Our carrier code -> Shopify's tracking company name.
TRACKING_COMPANIES: dict[str, str] = {
    "usps": "USPS",
    "ups": "UPS",
    "fedex": "FedEx",
    "dhl_express": "DHL Express",
    "dhl_ecommerce": "DHL eCommerce",
    "canada_post": "Canada Post",
    "royal_mail": "Royal Mail",
    "australia_post": "Australia Post",
    "new_zealand_post": "New Zealand Post",
    "deutsche_post": "Deutsche Post",
    "dpd": "DPD",
    "gls": "GLS",
    "postnl": "PostNL",
    "la_poste": "La Poste",
    "evri": "Evri",
    "purolator": "Purolator",
    "ontrac": "OnTrac",
}


def tracking_company(carrier: str) -> str:
    """Shopify's company name for a shipment's carrier (its stored name); an unlisted one as given."""
    found = carrier_for(carrier)
    return TRACKING_COMPANIES.get(found.code, found.name) if found else (carrier or "").strip()
