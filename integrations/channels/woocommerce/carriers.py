"""Our carriers (orders.carriers) in WooCommerce's words: free text (the shipment tracking extensions take
the provider's name as typed, with a custom tracking link), so the carrier's name and our link."""

from __future__ import annotations

from orders.carriers import carrier_for, tracking_url_for


def tracking_provider(carrier: str, tracking_number: str) -> tuple[str, str]:
    """(provider name, tracking link) for a shipment's carrier (its stored name) and tracking number."""
    found = carrier_for(carrier)
    return (found.name if found else (carrier or "").strip()), tracking_url_for(carrier, tracking_number)
