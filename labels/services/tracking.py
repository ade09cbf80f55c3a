"""Tracking news from carriers: a tracker event (or a poll) moves the label's shipment through orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts.models import Merchant
from labels.models import CarrierAccount, Label
from orders import services as order_services


def label_tracking_event(*, merchant: Merchant, account: CarrierAccount, tracking_number: str, status: str,
                         description: str = "", occurred_at: datetime | None = None) -> dict[str, Any]:
    """Find the bought label of `account` with this tracking number and record where its parcel is. A
    tracking number we did not buy (a tracker made elsewhere in the same EasyPost account) is ignored."""
    rows = list(Label.objects.filter(merchant=merchant, carrier_account=account, tracking_number=tracking_number,
                                     status=Label.Status.BOUGHT).select_related("shipment").order_by("-id")[:1])
    if not rows:
        return {"action": "ignored", "reason": "no label of ours has this tracking number"}
    changed = order_services.shipment_tracking_update(merchant=merchant, shipment=rows[0].shipment, status=status,
                                                      description=description, occurred_at=occurred_at,
                                                      source=account.carrier)
    return {"action": "updated" if changed else "unchanged", "shipment": rows[0].shipment_id, "status": status}
