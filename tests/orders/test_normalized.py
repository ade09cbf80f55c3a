"""NormalizedOrder.fingerprint is stored on every order: its JSON must stay byte for byte what it was when it was
computed with dataclasses.asdict, or every stored order's next unchanged delivery would count as an update."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orders.normalized import FINGERPRINT_ADDED_LATER, NormalizedLine
from tests.orders.helpers import normalized


def _asdict_fingerprint(order) -> str:
    """The fingerprint as it was first written (asdict of a copy without the raw payload)."""
    data = asdict(replace(order, raw={}))
    data.pop("raw", None)
    for name, empty in FINGERPRINT_ADDED_LATER:
        if data.get(name) == empty:
            data.pop(name, None)
    blob = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@pytest.mark.parametrize("extra", [
    {},
    {"lines": (("L1", "A-1", 2), ("", "B-2", 0), ("L3", "ü-3", 7))},
    {"requested_service": "Express", "ship_by": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
    {"channel_data": {"location": {"id": 5, "tags": ["a", "b"], "n": None}, "x": Decimal("1.50"), "t": (1, 2)}},
    {"awaiting_payment": True, "channel_hold": True, "shipped_on_channel": True, "is_refunded": True},
    {"cancelled": True, "updated_minutes": 9, "total": Decimal("12.345"), "tax": 1.5, "customer_name": "Zoë \"Q\""},
    {"raw": {"huge": list(range(100))}, "currency": "eur", "channel_updated_at": None},
])
def test_the_fingerprint_is_what_asdict_made_of_the_order(extra):
    order = normalized("77", **extra)
    assert order.fingerprint() == _asdict_fingerprint(order)


def test_the_fingerprint_of_lines_given_as_a_list_and_of_a_shifted_time():
    order = normalized("78")
    order = replace(order, lines=[NormalizedLine(external_id="L9", sku="Z", quantity=1, unit_price=Decimal("0.1"))],
                    placed_at=order.placed_at + timedelta(microseconds=5))
    assert order.fingerprint() == _asdict_fingerprint(order)
