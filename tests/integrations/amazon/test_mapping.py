"""Amazon's recorded answers (../shared/realworld/amazon/) through our mapping, with exact values; the
statuses and the AFN rule of issue 16 §3."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integrations.channels.amazon.mapping import (
    MappingError,
    listing_from_amazon,
    order_from_amazon,
    report_errors,
    submission_errors,
)
from orders.normalized import NormalizedAddress, NormalizedLine
from tests.fakes.amazon import schema


def _recorded(name: str) -> dict:
    return json.loads((schema.REALWORLD / name).read_text())


def _gbp_order() -> dict:
    return _recorded("orders2026_searchOrders_200_GBP.json")["response"]["body"]["orders"][0]


def test_the_recorded_search_orders_page_maps_exactly():
    order = order_from_amazon(_gbp_order())

    assert order is not None
    assert (order.external_id, order.number, order.currency) == ("202-7654321-1098765", "202-7654321-1098765", "GBP")
    assert order.placed_at == datetime(2024, 12, 24, 14, 20, tzinfo=UTC)
    assert order.channel_updated_at == datetime(2024, 12, 24, 18, 45, tzinfo=UTC)
    assert list(order.lines) == [NormalizedLine(external_id="20276543210987", sku="ECHO-DOT-4-UK-CHARCOAL-SINGLE",
                                                quantity=1, unit_price=Decimal("34.99"), title=(
        "Amazon Echo Dot (4th Generation) | Smart speaker with Alexa | Charcoal"))]
    assert (order.subtotal, order.shipping, order.tax, order.total) == (Decimal("34.99"), 0, 0, Decimal("34.99"))
    assert order.shipping_address == NormalizedAddress(
        name="Sarah Thompson", line1="45 Oak Avenue", line2="Flat 2A", city="London", region="England",
        postal_code="SW1A 1AA", country="GB", phone="+44 20 7946 0958")
    assert (order.customer_name, order.customer_email) == ("Sarah Thompson", "buyer-email@marketplace.amazon.co.uk")
    assert (order.fulfillment_status, order.is_cancelled, order.awaiting_payment) == ("fulfilled", False, False)
    assert order.ship_by == datetime(2024, 12, 25, 23, 59, 59, tzinfo=UTC)
    assert order.channel_data == {"marketplace_id": "A1F83G8C2ARO7P"}


def test_the_recorded_get_order_maps_exactly():
    order = order_from_amazon(_recorded("orders2026_getOrder_200_TRY.json")["response"]["body"]["order"])

    assert order is not None
    assert (order.external_id, order.currency, order.total, order.subtotal) == (
        "028-1234567-8901234", "TRY", Decimal("125.00"), Decimal("125.00"))
    assert [(li.external_id, li.sku, li.quantity, li.unit_price) for li in order.lines] == [
        ("02812345678901", "FIRE-HD10-TR-BLK", 2, Decimal("62.50"))]
    assert order.shipping_address.country == "TR" and order.shipping_address.postal_code == "34430"


@pytest.mark.parametrize(("status", "expected"), [
    ("PENDING", ("pending", False, True)),
    ("PENDING_AVAILABILITY", ("pending", False, True)),
    ("UNSHIPPED", ("unfulfilled", False, False)),
    ("PARTIALLY_SHIPPED", ("partially_fulfilled", False, False)),
    ("SHIPPED", ("fulfilled", False, False)),
    ("CANCELLED", ("cancelled", True, False)),
])
def test_statuses(status, expected):
    body = copy.deepcopy(_gbp_order())
    body["fulfillment"]["fulfillmentStatus"] = status

    order = order_from_amazon(body)

    assert (order.fulfillment_status, order.is_cancelled, order.awaiting_payment) == expected


def test_an_order_fulfilled_by_amazon_is_skipped_and_one_without_the_dataset_is_refused():
    afn = copy.deepcopy(_gbp_order())
    afn["fulfillment"]["fulfilledBy"] = "AMAZON"
    bare = copy.deepcopy(_gbp_order())
    del bare["fulfillment"]

    assert order_from_amazon(afn) is None
    with pytest.raises(MappingError, match="includedData=FULFILLMENT"):
        order_from_amazon(bare)


def test_a_pending_order_without_money_takes_its_marketplaces_currency_and_no_address_without_the_role():
    body = copy.deepcopy(_gbp_order())
    body["fulfillment"]["fulfillmentStatus"] = "PENDING"
    del body["proceeds"], body["recipient"], body["buyer"]
    for item in body["orderItems"]:
        del item["product"]["price"]

    order = order_from_amazon(body)

    assert (order.currency, order.total, order.lines[0].unit_price) == ("GBP", 0, 0)
    assert order.shipping_address == NormalizedAddress()


def test_a_listing_keeps_its_product_type():
    listing = listing_from_amazon({"sku": "MUG/1", "summaries": [{
        "marketplaceId": "ATVPDKIKX0DER", "productType": "HOME", "status": ["BUYABLE"], "itemName": "Mug",
        "createdDate": "2026-01-01T00:00:00Z", "lastUpdatedDate": "2026-01-01T00:00:00Z"}],
        "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 4}]})

    assert (listing.external_id, listing.channel_ref, listing.sku, listing.title, listing.quantity) == (
        "MUG/1", "MUG/1", "MUG/1", "Mug", 4)
    assert listing.channel_data == {"product_type": "HOME", "marketplace_id": "ATVPDKIKX0DER"}


def test_recorded_submission_answers_and_the_example_report_read_as_errors_per_sku():
    accepted = _recorded("listings_patchListingsItem_200_ACCEPTED.json")["response"]["body"]
    invalid = _recorded("listings_patchListingsItem_200_VALIDATION_INVALID.json")["response"]["body"]
    report = json.loads((schema.MODELS / "listings-feed-processing-report-schema-v2.example.json").read_text())

    assert submission_errors(accepted) == ""
    assert submission_errors(invalid) == "; ".join(f"{i['code']}: {i['message']}" for i in invalid["issues"]
                                                    if i["severity"] == "ERROR")
    assert set(report_errors(report)) == {"My-SKU-B", "My-SKU-C"}
    assert report_errors(report)["My-SKU-C"].startswith("99022: ")


@pytest.mark.parametrize("recorded", sorted(p.name for p in schema.REALWORLD.glob("ordersV0_*.json")))
def test_the_recorded_v0_answers_meet_the_v0_model(recorded):
    # v0 is read nowhere (v2026 has all we read); confirmShipment is the one v0 call we make.
    data = _recorded(recorded)

    schema.response_body("ordersV0", data["operationId"], data["response"]["status"], data["response"]["body"])
    if "body" in data["request"]["parameters"]:
        schema.request_body("ordersV0", data["operationId"], data["request"]["parameters"]["body"]["value"])
