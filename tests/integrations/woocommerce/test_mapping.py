"""Every recorded WooCommerce order maps to the right NormalizedOrder (exact money, ids, lines, statuses);
statuses follow issue 15 §2; an empty SKU is a line; listings are simple products and variations, never a
variable parent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integrations.channels.woocommerce.mapping import (
    MappingError,
    WooListing,
    listing_from_variation,
    listings_from_product,
    order_from_wc,
)
from orders.normalized import NormalizedAddress, NormalizedLine
from tests.fakes.woocommerce.realworld import REALWORLD_DIR
from tests.fakes.woocommerce.realworld import realworld as recorded

SF = NormalizedAddress(name="John Doe", line1="969 Market", city="San Francisco", region="CA", postal_code="94103",
                       country="US", phone="(555) 555-5555")
WOO_SINGLE = NormalizedLine(external_id="315", sku="", quantity=2, unit_price=Decimal("3"), title="Woo Single #1")
BLACK_M = NormalizedLine(external_id="316", sku="Bar3", quantity=1, unit_price=Decimal("12"),
                         title="Ship Your Idea – Color: Black, Size: M Test")


def recorded_orders() -> list[tuple[str, dict]]:
    """Every order body in the recorded payloads (single, listed, or inside a batch answer), by file."""
    found = []
    for path in sorted(REALWORLD_DIR.glob("order*.json")):
        body = recorded(path.name)
        if isinstance(body, dict) and ("create" in body or "update" in body):
            body = [*body.get("create", []), *body.get("update", [])]
        for item in body if isinstance(body, list) else [body]:
            if "order_key" in item:  # refunds have line items too, but no order key
                found.append((path.name, item))
    return found


def test_every_recorded_order_is_covered():
    assert sorted({(name, order["id"]) for name, order in recorded_orders()}) == [
        ("order_create_wc-v3.json", 727), ("order_fully_refunded_recorded_jetpack_envelope.json", 609),
        ("order_retrieve_wc-v3.json", 727), ("order_update_completed_wc-v3.json", 727),
        ("orders_batch_wc-v3.json", 727), ("orders_batch_wc-v3.json", 728), ("orders_batch_wc-v3.json", 729),
        ("orders_list_wc-v3.json", 723), ("orders_list_wc-v3.json", 727)]


@pytest.mark.parametrize("name", ["order_create_wc-v3.json", "order_retrieve_wc-v3.json"])
def test_a_processing_order_with_an_empty_sku_line(name):
    order = order_from_wc(recorded(name))

    assert (order.channel, order.external_id, order.number, order.currency) == ("woocommerce", "727", "727", "USD")
    assert order.placed_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    assert order.channel_updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert list(order.lines) == [WOO_SINGLE, BLACK_M]
    assert (order.subtotal, order.shipping, order.tax, order.total) == (
        Decimal("18.00"), Decimal("10.00"), Decimal("1.35"), Decimal("29.35"))
    assert (order.customer_name, order.customer_email) == ("John Doe", "john.doe@example.com")
    assert order.shipping_address == SF
    assert (order.payment_status, order.fulfillment_status, order.is_cancelled, order.awaiting_payment) == (
        "paid", "processing", False, False)
    assert order.requested_service == "Flat Rate"
    assert order.ship_by is None
    assert order.raw["id"] == 727


def test_the_same_order_by_poll_and_by_webhook_has_one_fingerprint():
    polled = next(o for o in recorded("orders_list_wc-v3.json") if o["id"] == 727)

    assert order_from_wc(polled).fingerprint() == order_from_wc(recorded("order_retrieve_wc-v3.json")).fingerprint()


def test_a_completed_order_says_it_shipped_on_the_channel():
    order = order_from_wc(recorded("order_update_completed_wc-v3.json"))

    assert (order.fulfillment_status, order.payment_status, order.is_cancelled, order.awaiting_payment) == (
        "completed", "paid", False, False)
    assert (order.shipped_on_channel, order.is_refunded) == (True, False)
    assert order.channel_updated_at == datetime(2017, 3, 22, 19, 30, 35, tzinfo=UTC)
    assert list(order.lines) == [WOO_SINGLE, BLACK_M]


def test_the_listed_completed_order_without_a_payment_date():
    order = order_from_wc(next(o for o in recorded("orders_list_wc-v3.json") if o["id"] == 723))

    assert (order.external_id, order.fulfillment_status, order.payment_status) == ("723", "completed", "")
    assert list(order.lines) == [
        NormalizedLine(external_id="311", sku="", quantity=1, unit_price=Decimal("9"), title="Woo Album #2"),
        NormalizedLine(external_id="313", sku="", quantity=1, unit_price=Decimal("20"), title="Woo Ninja")]
    assert (order.subtotal, order.shipping, order.tax, order.total) == (
        Decimal("29.00"), Decimal("10.00"), Decimal("0.00"), Decimal("39.00"))
    assert order.shipping_address == NormalizedAddress(
        name="João Silva", line1="Av. Brasil, 432", city="Rio de Janeiro", region="RJ", postal_code="12345-000",
        country="BR", phone="(11) 1111-1111")
    assert order.customer_email == "joao.silva@example.com"


def test_the_batch_answer_pending_order_awaits_payment_and_the_paid_one_does_not():
    batch = recorded("orders_batch_wc-v3.json")
    pending, paid = (order_from_wc(o) for o in batch["create"])

    assert (pending.external_id, pending.awaiting_payment, pending.is_cancelled, pending.payment_status) == (
        "728", True, False, "pending")
    assert [(li.external_id, li.sku, li.quantity, li.unit_price) for li in pending.lines] == [
        ("319", "", 1, Decimal("15")), ("320", "", 1, Decimal("3")), ("321", "Bar3", 1, Decimal("12"))]
    assert (pending.subtotal, pending.shipping, pending.tax, pending.total) == (
        Decimal("30.00"), Decimal("30.00"), Decimal("2.25"), Decimal("62.25"))
    assert (paid.external_id, paid.awaiting_payment, paid.payment_status) == ("729", False, "paid")
    assert [(li.external_id, li.sku, li.title) for li in paid.lines] == [
        ("324", "Bar3", "Ship Your Idea – Color: Black, Size: M Test"),
        ("325", "", "Ship Your Idea – Color: Green, Size: S Test")]
    assert paid.total == Decimal("54.40")


def test_the_real_refunded_order_is_a_refund_for_ingest_to_judge():
    order = order_from_wc(recorded("order_fully_refunded_recorded_jetpack_envelope.json"))

    assert (order.external_id, order.is_refunded, order.is_cancelled, order.payment_status,
            order.fulfillment_status) == ("609", True, False, "refunded", "refunded")
    assert list(order.lines) == [NormalizedLine(external_id="667", sku="", quantity=2, unit_price=Decimal("90"),
                                                title="Yellow Pants (H&M)")]
    assert (order.subtotal, order.shipping, order.tax, order.total) == (
        Decimal("180.00"), Decimal("43.71"), Decimal("0.00"), Decimal("223.71"))
    assert order.shipping_address == NormalizedAddress(
        name="Sara Doe", company="South Estate, LLC", line1="500 Ground St", city="Los Angeles", region="CA",
        postal_code="90210", country="US", phone="333-333-3333")
    assert order.requested_service == "Ground (UPS)"
    assert order.placed_at == datetime(2017, 8, 24, 20, 56, 57, tzinfo=UTC)


@pytest.mark.parametrize(("status", "cancelled", "unpaid", "shipped", "refunded"), [
    ("processing", False, False, False, False), ("on-hold", False, False, False, False),
    ("completed", False, False, True, False), ("pending", False, True, False, False),
    ("failed", False, True, False, False), ("cancelled", True, False, False, False),
    ("refunded", False, False, False, True), ("trash", True, False, False, False),
    ("some-plugin-status", False, False, False, False)])
def test_statuses(status, cancelled, unpaid, shipped, refunded):
    order = order_from_wc({**recorded("order_retrieve_wc-v3.json"), "status": status})

    assert (order.is_cancelled, order.awaiting_payment, order.fulfillment_status) == (cancelled, unpaid, status)
    assert (order.shipped_on_channel, order.is_refunded) == (shipped, refunded)


def test_a_checkout_draft_is_no_order_yet():
    assert order_from_wc({**recorded("order_retrieve_wc-v3.json"), "status": "checkout-draft"}) is None


def test_price_as_a_string_or_missing_and_amounts_never_floats():
    body = recorded("order_retrieve_wc-v3.json")
    items = [{**body["line_items"][0], "price": "3.10"}, {**body["line_items"][1], "price": None, "subtotal": "20.90",
                                                         "quantity": 2}]
    order = order_from_wc({**body, "line_items": items, "total": "1234567.89"})

    assert [li.unit_price for li in order.lines] == [Decimal("3.10"), Decimal("10.45")]
    assert order.total == Decimal("1234567.89")


@pytest.mark.parametrize("change", [{"id": None}, {"date_created_gmt": None}, {"total": "a lot"},
                                    {"line_items": [{"id": 1, "quantity": 1, "price": "x"}]}])
def test_a_payload_without_what_an_order_needs_is_a_mapping_error(change):
    with pytest.raises(MappingError):
        order_from_wc({**recorded("order_retrieve_wc-v3.json"), **change})


def test_recorded_variations_are_listings_with_their_parent():
    variations = recorded("product_variations_list_wc-v3.json")
    parent = recorded("product_variable_create_wc-v3.json")

    listings = listings_from_product(parent, variations)

    assert listings == [
        WooListing(external_id="733", sku="", title="Ship Your Idea - Green", quantity=None, manage_stock=False,
                   channel_data={"parent_id": 799, "type": "variation"}),
        WooListing(external_id="732", sku="", title="Ship Your Idea - Black", quantity=None, manage_stock=False,
                   channel_data={"parent_id": 799, "type": "variation"})]


def test_a_variable_product_is_never_a_listing_itself():
    assert listings_from_product(recorded("product_variable_create_wc-v3.json"), []) == []


def test_a_simple_product_and_stockless_kinds():
    simple = {"id": 93, "type": "simple", "name": "Mug &amp; Co", "sku": "MUG-1", "manage_stock": True,
              "stock_quantity": 14}
    unmanaged = {**simple, "manage_stock": False, "stock_quantity": None}

    assert listings_from_product(simple) == [WooListing(external_id="93", sku="MUG-1", title="Mug & Co", quantity=14,
                                                        manage_stock=True, channel_data={"type": "simple"})]
    assert listings_from_product(unmanaged)[0].quantity is None
    assert listings_from_product({**simple, "type": "grouped"}) == []
    assert listings_from_product({**simple, "type": "external"}) == []


def test_a_product_updated_body_of_a_variation_maps_to_that_variation():
    body = {"id": 95, "type": "variation", "parent_id": 93, "name": "Tee - S", "sku": "TEE-S", "manage_stock": True,
            "stock_quantity": 3}

    assert listings_from_product(body) == [WooListing(
        external_id="95", sku="TEE-S", title="Tee - S", quantity=3, manage_stock=True,
        channel_data={"parent_id": 93, "type": "variation"})]


def test_a_variation_whose_stock_its_parent_keeps_counts_as_unmanaged():
    listing = listing_from_variation({"id": 95, "sku": "TEE-S", "manage_stock": "parent", "stock_quantity": 8},
                                     parent_id=93, parent_name="Tee")

    assert (listing.manage_stock, listing.quantity, listing.title) == (False, None, "Tee")
