"""Packing slips and pick lists, parsed back: order numbers, SKUs, units and a barcode that reads as the
order number. No carrier account is needed."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from accounts.tenancy import tenant_scope
from labels.pdf import BAR_HEIGHT, BAR_WIDTH
from orders import services as order_services
from orders.models import OrderLine
from tests.inventory.helpers import make_product
from tests.labels.code128 import read
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "MUG-1", on_hand=20)
        make_product(m, "TEE-2", on_hand=20)
        first = order_services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "5001", lines=(("L1", "MUG-1", 2), ("L2", "TEE-2", 1)))).order
        second = order_services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "5002", lines=(("L1", "TEE-2", 3),))).order
    return merchant_a, first, second


def pages(response) -> list:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    return PdfReader(io.BytesIO(response.content)).pages


def test_a_packing_slip_has_the_lines_the_address_and_a_readable_barcode(orders):
    tenant, first, _second = orders

    [page] = pages(tenant.api.get(f"/api/v1/orders/{first.pk}/packing-slip/"))

    text = page.extract_text()
    assert "Packing slip: order #5001" in text and "MUG-1" in text and "TEE-2" in text
    assert "Ada Lovelace" in text and "1 Main St" in text and "London" in text
    assert read(page.get_contents().get_data(), bar_width=BAR_WIDTH, bar_height=BAR_HEIGHT) == "#5001"


def test_packing_slips_in_bulk_are_one_page_per_order(orders):
    tenant, first, second = orders

    slips = pages(tenant.api.post("/api/v1/packing-slips/", {"order_ids": [second.pk, first.pk]}, format="json"))

    assert [read(p.get_contents().get_data(), bar_width=BAR_WIDTH, bar_height=BAR_HEIGHT) for p in slips] == [
        "#5002", "#5001"]


def test_a_pick_list_sums_units_by_sku_and_location(orders):
    tenant, first, second = orders
    with tenant_scope(tenant.merchant):  # one mug already shipped: only what is left is picked
        line = OrderLine.objects.get(order=first, sku="MUG-1")
        order_services.shipment_create(merchant=tenant.merchant, order=first,
                                       lines=[order_services.ShipmentLineRequest(line.pk, 1)])

    [page] = pages(tenant.api.post("/api/v1/pick-lists/", {"order_ids": [first.pk, second.pk]}, format="json"))

    cells = page.extract_text().splitlines()
    table = cells[cells.index("Units") + 1:]  # each drawn string is a cell: location, SKU, item, units
    assert table == ["MAIN", "MUG-1", "Item MUG-1", "1", "MAIN", "TEE-2", "Item TEE-2", "4"]
    assert "Pick list: 2 orders, 5 units" in page.extract_text()


def test_another_merchants_order_is_404(orders, merchant_b):
    tenant, first, _second = orders

    assert merchant_b.api.get(f"/api/v1/orders/{first.pk}/packing-slip/").status_code == 404
    assert merchant_b.api.post("/api/v1/pick-lists/", {"order_ids": [first.pk]}, format="json").status_code == 404
