"""Every recorded Shopify order payload maps to a NormalizedOrder with exact money, ids and lines; a
poll (GraphQL) and a webhook (REST) of the same order give the same order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integrations.channels.shopify.mapping import (
    MappingError,
    gid_number,
    order_from_graphql,
    order_from_rest,
)
from orders.normalized import NormalizedAddress
from tests.fakes.shopify.schema import REALWORLD_DIR

REALWORLD = REALWORLD_DIR  # ../shared/realworld/shopify/


def body(name: str) -> dict:
    data = json.loads((REALWORLD / name).read_text())
    return data["response"]["body"] if "response" in data and "request" in data else data


def rest_orders() -> list[tuple[str, dict]]:
    """Every REST order in the recorded payloads, by file."""
    found = []
    for path in sorted(REALWORLD.glob("rest_*.json")):
        data = body(path.name)
        for order in data.get("orders") or ([data["order"]] if "order" in data else []):
            found.append((path.name, order))
    return found


def test_every_rest_payload_with_orders_is_covered():
    assert sorted({name for name, _ in rest_orders()}) == [
        "rest_get_order_single_2025-10.json", "rest_get_orders_status_any_2025-10.json",
        "rest_order_recorded_eur_test_store.json", "rest_order_single_fixture.json",
        "rest_orders_list_fixture.json", "rest_post_order_cancel_2025-10.json",
        "rest_post_order_create_eur_custom_item_2025-10.json",
        "rest_post_order_create_multi_custom_items_2025-10.json"]


@pytest.mark.parametrize(("name", "payload"), rest_orders(), ids=[n for n, _ in rest_orders()])
def test_every_recorded_rest_order_maps_exactly(name, payload):
    order = order_from_rest(payload)

    assert order.channel == "shopify"
    assert order.external_id == str(payload["id"])
    assert order.number == payload["name"]
    assert order.currency == payload["currency"]
    assert order.total == Decimal(payload["total_price"])
    assert order.subtotal == Decimal(payload["subtotal_price"])
    assert order.tax == Decimal(payload["total_tax"])
    assert [(li.external_id, li.sku, li.quantity, li.unit_price) for li in order.lines] == [
        (str(li["id"]), li["sku"] or "", li["quantity"], Decimal(li["price"])) for li in payload.get("line_items", [])]
    assert all(isinstance(li.unit_price, Decimal) for li in order.lines)
    assert order.placed_at == datetime.fromisoformat(payload["created_at"])
    assert order.placed_at.tzinfo == UTC
    assert order.is_cancelled is bool(payload.get("cancelled_at"))
    assert order.payment_status == payload["financial_status"]


def test_recorded_eur_order_in_detail():
    order = order_from_rest(body("rest_order_recorded_eur_test_store.json"))

    assert (order.external_id, order.number, order.currency) == ("4670269816904", "WEB1349", "EUR")
    assert (order.subtotal, order.shipping, order.tax, order.total) == (
        Decimal("55.20"), Decimal("4.99"), Decimal("10.45"), Decimal("60.19"))
    (line,) = order.lines
    assert (line.external_id, line.sku, line.quantity, line.unit_price) == ("11883238293576", "1928-S", 1,
                                                                            Decimal("55.20"))
    assert order.shipping_address == NormalizedAddress(name="Test Tester", line1="Testing", city="TestTown",
                                                       postal_code="1000", country="BE")
    assert (order.customer_name, order.customer_email) == ("Test Tester", "Test@tester.com")  # the order's own e-mail, as typed
    assert order.placed_at == datetime(2022, 7, 12, 8, 1, 39, tzinfo=UTC)
    assert order.fulfillment_status == "unfulfilled"


def test_cancelled_order_is_cancelled():
    order = order_from_rest(body("rest_post_order_cancel_2025-10.json"))

    assert order.is_cancelled is True
    assert order.external_id == "450789469"


def test_shipping_comes_from_the_shipping_lines_when_there_is_no_money_set():
    order = order_from_rest(body("rest_order_single_fixture.json"))

    assert (order.shipping, order.total) == (Decimal("0.00"), Decimal("409.94"))
    assert order.payment_status == "authorized"


RECORDED_GRAPHQL = body("graphql_orders_query_recorded_eur.json")["data"]["orders"]["edges"]


@pytest.mark.parametrize("edge", RECORDED_GRAPHQL, ids=[e["node"]["name"] for e in RECORDED_GRAPHQL])
def test_every_recorded_graphql_order_maps_exactly(edge):
    node = edge["node"]

    order = order_from_graphql(node)

    assert order.external_id == node["legacyResourceId"]
    assert order.number == node["name"]
    assert order.currency == "EUR"  # from the money bag when the query asked no currencyCode
    assert order.total == Decimal(node["totalPriceSet"]["shopMoney"]["amount"])
    assert order.lines == ()
    assert order.payment_status == node["displayFinancialStatus"].lower()
    assert order.channel_updated_at == datetime.fromisoformat(node["updatedAt"])


def test_recorded_graphql_and_rest_describe_the_same_order_with_the_same_id():
    rest = order_from_rest(body("rest_order_recorded_eur_test_store.json"))
    node = next(e["node"] for e in RECORDED_GRAPHQL if e["node"]["legacyResourceId"] == rest.external_id)

    polled = order_from_graphql(node)

    assert (polled.external_id, polled.number, polled.total, polled.currency, polled.placed_at) == (
        rest.external_id, rest.number, rest.total, rest.currency, rest.placed_at)


def test_graphql_line_ids_are_parsed_from_the_gid():
    node = {"legacyResourceId": "5566778899", "name": "#1042", "createdAt": "2026-03-02T15:15:00Z",
            "currencyCode": "USD", "totalPriceSet": {"shopMoney": {"amount": "59.90", "currencyCode": "USD"}},
            "lineItems": {"nodes": [{"id": "gid://shopify/LineItem/1300001", "sku": "MUG-BLU-12", "name": "Mug - Blue",
                                     "quantity": 2, "originalUnitPriceSet": {"shopMoney": {"amount": "24.95"}}}]}}

    order = order_from_graphql(node)

    assert [(li.external_id, li.sku, li.quantity, li.unit_price, li.title) for li in order.lines] == [
        ("1300001", "MUG-BLU-12", 2, Decimal("24.95"), "Mug - Blue")]
    assert order.total == Decimal("59.90")


def test_ids_that_are_not_shopify_ids_are_refused():
    assert gid_number("gid://shopify/InventoryLevel/77?inventory_item_id=3001") == "77"
    with pytest.raises(MappingError):
        gid_number("gid://shopify/LineItem/abc")
    with pytest.raises(MappingError):
        order_from_rest({"id": 1, "name": "", "created_at": None})


def _first_current_title(payload: dict) -> str:
    current = [s for s in payload.get("shipping_lines") or [] if not s.get("is_removed")]
    return current[0]["title"] if current else ""


@pytest.mark.parametrize(("name", "payload"), rest_orders(), ids=[n for n, _ in rest_orders()])
def test_recorded_rest_orders_carry_the_shipping_the_buyer_chose(name, payload):
    order = order_from_rest(payload)

    assert order.requested_service == _first_current_title(payload)
    assert order.ship_by is None  # Shopify's order body promises no date: the merchant's default applies


def test_recorded_shipping_lines_give_their_titles():
    titles = {name: order_from_rest(payload).requested_service for name, payload in rest_orders()}

    assert titles["rest_order_recorded_eur_test_store.json"] == "DHL"
    assert titles["rest_get_order_single_2025-10.json"] == "Free Shipping"
    assert titles["rest_order_single_fixture.json"] == "Free Shipping"
    assert titles["rest_post_order_create_eur_custom_item_2025-10.json"] == ""  # no shipping lines


def test_a_removed_shipping_line_is_not_the_requested_service():
    payload = json.loads(json.dumps(body("rest_order_recorded_eur_test_store.json")["order"]))
    dhl = payload["shipping_lines"][0]
    payload["shipping_lines"] = [{**dhl, "title": "Express", "is_removed": True}, dhl,
                                 {**dhl, "id": dhl["id"] + 1, "title": "Gift wrap courier"}]

    assert order_from_rest(payload).requested_service == "DHL"
    del payload["total_shipping_price_set"]  # then shipping is summed from the lines still on the order
    assert order_from_rest(payload).shipping == Decimal("4.99") * 2


def test_graphql_shipping_line_title_is_the_requested_service_and_agrees_with_rest():
    rest = order_from_rest(body("rest_order_recorded_eur_test_store.json"))
    node = next(e["node"] for e in RECORDED_GRAPHQL if e["node"]["legacyResourceId"] == rest.external_id)

    polled = order_from_graphql({**node, "shippingLine": {"title": " DHL ", "code": "DHL", "source": "shopify"}})
    without = order_from_graphql({**node, "shippingLine": None})

    assert polled.requested_service == rest.requested_service == "DHL"
    assert without.requested_service == ""
