"""The carriers a shipment can go with: one list, each with a stable code, the name merchants know and
the pattern of its public tracking page, plus "Other" with a name the merchant types.

Shipment.carrier stores the carrier's name ("DHL Express", or the typed name for Other). Each channel
maps these codes to its own vocabulary in its package (integrations/channels/<slug>/carriers.py:
a tracking company's name, a carrier code, free text); orders knows no
channel. Tracking links are built here from the carrier's pattern when none was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from core.errors import ValidationFailed

OTHER = "other"
NAME_MAX = 64


@dataclass(frozen=True)
class Carrier:
    code: str  # stable, lower-case: what forms and the API send
    name: str  # what merchants read and Shipment.carrier stores
    tracking_url: str = ""  # the public tracking page, "{number}" replaced by the tracking number

    def tracking_link(self, number: str) -> str:
        return self.tracking_url.format(number=quote(number.strip(), safe="")) if self.tracking_url and number else ""


CARRIERS: tuple[Carrier, ...] = (
    Carrier("usps", "USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
    Carrier("ups", "UPS", "https://www.ups.com/track?tracknum={number}"),
    Carrier("fedex", "FedEx", "https://www.fedex.com/fedextrack/?trknbr={number}"),
    Carrier("dhl_express", "DHL Express",
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={number}"),
    Carrier("dhl_ecommerce", "DHL eCommerce", "https://webtrack.dhlecs.com/?trackingnumber={number}"),
    Carrier("canada_post", "Canada Post", "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}"),
    Carrier("royal_mail", "Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/{number}"),
    Carrier("australia_post", "Australia Post", "https://auspost.com.au/mypost/track/details/{number}"),
    Carrier("new_zealand_post", "New Zealand Post", "https://www.nzpost.co.nz/tools/tracking/item/{number}"),
    Carrier("deutsche_post", "Deutsche Post",
            "https://www.deutschepost.de/sendung/simpleQueryResult.html?form.sendungsnummer={number}"),
    Carrier("dpd", "DPD", "https://tracking.dpd.de/status/en_US/parcel/{number}"),
    Carrier("gls", "GLS", "https://gls-group.com/track/{number}"),
    Carrier("postnl", "PostNL", "https://jouw.postnl.nl/track-and-trace/{number}"),
    Carrier("la_poste", "La Poste", "https://www.laposte.fr/outils/suivre-vos-envois?code={number}"),
    Carrier("evri", "Evri", "https://www.evri.com/track/parcel/{number}"),
    Carrier("purolator", "Purolator", "https://www.purolator.com/en/shipping/tracker?pin={number}"),
    Carrier("ontrac", "OnTrac", "https://www.ontrac.com/tracking/?number={number}"),
)
_BY_KEY = {key: c for c in CARRIERS for key in (c.code, c.name.lower())}


def carrier_list() -> list[Carrier]:
    return list(CARRIERS)


def carrier_choices() -> list[tuple[str, str]]:
    """(code, name) for a form's select, "Other" last."""
    return [(c.code, c.name) for c in CARRIERS] + [(OTHER, "Other")]


def carrier_for(value: str) -> Carrier | None:
    """The listed carrier a code or a stored name (any case) means, or None (Other, or nothing)."""
    return _BY_KEY.get((value or "").strip().lower())


def carrier_clean(code: object, name: object = "") -> str:
    """What a form or API client chose, as Shipment.carrier stores it: a listed carrier's name from its code
    (or name, any case), or the name typed with "other". Empty for no carrier. ValidationFailed otherwise."""
    code_text = code.strip() if isinstance(code, str) else code
    name_text = name.strip() if isinstance(name, str) else ""
    if code_text in (None, ""):
        if name_text:
            raise ValidationFailed("Choose \"other\" to give a carrier's name.",
                                   details={"fields": {"carrier": ["Choose other for a carrier not in the list."]}})
        return ""
    if not isinstance(code_text, str):
        raise ValidationFailed("The carrier is not valid.", details={"fields": {"carrier": ["A carrier code."]}})
    if code_text.lower() == OTHER:
        if not name_text or len(name_text) > NAME_MAX or "\x00" in name_text:
            raise ValidationFailed("Give the carrier's name.", details={"fields": {
                "carrier_name": [f"The name of the carrier, 1 to {NAME_MAX} characters."]}})
        return name_text
    carrier = carrier_for(code_text)
    if carrier is None:
        raise ValidationFailed(f"Unknown carrier {code_text[:64]!r}.", code="unknown_carrier", details={"fields": {
            "carrier": [f"One of: {', '.join(c.code for c in CARRIERS)}, or other with carrier_name."]}})
    return carrier.name


def tracking_url_for(carrier: str, number: str) -> str:
    """A tracking link from a listed carrier's pattern; "" for Other or no number."""
    found = carrier_for(carrier)
    return found.tracking_link(number) if found else ""
