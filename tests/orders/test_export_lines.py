"""Orders export one row per line with the shipping address (a 3PL or courier upload), beside one row per
order; streamed in keyset chunks, filtered like the list, the merchant's own orders only."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tenancy import tenant_scope
from core.csv_stream import csv_cell
from orders import selectors, services
from orders.normalized import NormalizedAddress
from tests.inventory.helpers import make_product
from tests.orders.helpers import T0, normalized

pytestmark = pytest.mark.django_db

ADDRESS = NormalizedAddress(name="Ada Lovelace", company="Analytical Ltd", line1="1 Main St", line2="Flat 2",
                            city="London", region="Greater London", postal_code="N1 9GU", country="GB",
                            phone="+44 20 7946 0000")


def _rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_one_row_per_line_with_the_shipping_address(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=10)
        services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "1", lines=(("L1", "A-1", 2), ("L2", "=CMD", 1)), shipping_address=ADDRESS, placed_at=T0))
        services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            "2", lines=(("L1", "A-1", 3),), placed_at=T0 + timedelta(hours=1),
            shipping_address=NormalizedAddress(name="Bob", country="FR")))
    with tenant_scope(merchant_b.merchant):
        services.order_ingest(merchant=merchant_b.merchant, integration_id=None, normalized=normalized(
            "99", lines=(("L1", "B-SECRET", 1),)))
    r = merchant_a.web.get("/orders/export.csv?shape=lines")
    assert r["Content-Disposition"].startswith('attachment; filename="order-lines-')
    rows = _rows(r)
    assert list(rows[0]) == ["order_number", "placed_at", "customer_name", "customer_email", "phone",
                             "ship_to_name", "company", "address_line1", "address_line2", "city", "region",
                             "postal_code", "country", "sku", "title", "quantity", "unit_price", "line_total",
                             "currency", "status"]
    assert [(r["order_number"], r["sku"], r["quantity"]) for r in rows] == [
        ("#2", "A-1", "3"), ("#1", "A-1", "2"), ("#1", "'=CMD", "1")]  # formulas neutralised, as per order
    first_line = rows[1]
    assert (first_line["phone"], first_line["ship_to_name"], first_line["company"], first_line["address_line1"],
            first_line["address_line2"], first_line["city"], first_line["region"], first_line["postal_code"],
            first_line["country"]) == ("+44 20 7946 0000", "Ada Lovelace", "Analytical Ltd", "1 Main St", "Flat 2",
                                       "London", "Greater London", "N1 9GU", "GB")
    assert (Decimal(first_line["unit_price"]), Decimal(first_line["line_total"]), first_line["currency"]) == (
        Decimal("10.00"), Decimal("20.00"), "USD")
    assert first_line["customer_email"] == "ada@example.com" and first_line["status"] == "unfulfilled"
    assert rows[0]["address_line1"] == "" and rows[0]["country"] == "FR"
    assert "B-SECRET" not in str(rows)
    # the other shape is unchanged, and filters apply to both
    assert _rows(merchant_a.web.get("/orders/export.csv"))[0]["number"] == "#2"
    assert [r["order_number"] for r in _rows(merchant_a.web.get("/orders/export.csv?shape=lines&sku=%3DCMD"))] == ["#1", "#1"]
    assert merchant_a.web.get("/orders/export.csv?shape=lines&status=lost").status_code == 400
    assert "shape=lines" in merchant_a.web.get("/orders/").content.decode()


def test_lines_export_reads_in_chunks_with_a_fixed_number_of_queries_per_chunk(scope_a):
    m = scope_a.merchant
    for i in range(5):
        services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
            str(i), lines=(("L1", "X-1", 1), ("L2", "X-2", 2)), placed_at=T0 + timedelta(hours=i)))
    filters = selectors.OrderFilters.from_params({})
    with CaptureQueriesContext(connection) as ctx:
        got = list(selectors.order_line_export_rows(merchant=m, filters=filters, chunk=2))
    assert len(got) == 10
    # 3 chunks (2 + 2 + 1 orders), each one page query plus its prefetches (lines, tags)
    assert len(ctx.captured_queries) == 9


@pytest.mark.parametrize(("phone", "cell"), [
    ("+44 20 7946 0000", "+44 20 7946 0000"), ("(555) 010-9999", "(555) 010-9999"),
    ("+1 =HYPERLINK(x)", "'+1 =HYPERLINK(x)"), ("=1+1", "'=1+1"), ("-1-2", "'-1-2"),
])
def test_phones_keep_their_plus_and_formulas_stay_inert(phone, cell):
    assert csv_cell(phone) == cell
