"""ShipStation API V2: one API key per account, rates from every carrier connected to it, labels bought
by rate id (looked up before buying again: V2 has no idempotency key), voids, tracking polled."""

from labels.carriers.shipstation.adapter import ShipStationAdapter
from labels.registry import CarrierPackage

CARRIER = CarrierPackage(slug="shipstation", label="ShipStation", adapter=ShipStationAdapter, polls_tracking=True)
