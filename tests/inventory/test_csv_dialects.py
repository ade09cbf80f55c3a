"""Every import reads files as spreadsheets really write them: comma, Excel's semicolons with a byte-order
mark, tabs, UTF-16 "Unicode text", quoted fields holding delimiters, and a file of one column."""

from __future__ import annotations

import codecs
import csv
import io
import sys

import pytest

from core.csv_read import SAMPLE_CHARS, csv_decode, csv_delimiter
from inventory import services
from inventory.models import Product, StockLevel
from inventory.services import import_preview, imports
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db


def encode(rows: list[list[str]], *, delimiter: str = ",", bom: bytes = b"", encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return bom + out.getvalue().encode(encoding)


VARIANTS = {
    "comma": dict(delimiter=","),
    "semicolon+bom (Excel, European locale)": dict(delimiter=";", bom=codecs.BOM_UTF8),
    "tab": dict(delimiter="\t"),
    "utf-16 tab (Excel unicode text)": dict(delimiter="\t", bom=codecs.BOM_UTF16_LE, encoding="utf-16-le"),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_stock_import_reads_every_dialect(scope_a, variant):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=1)
    make_product(m, "B;2", on_hand=1)  # a delimiter inside a quoted field
    services.location_create(merchant=m, name="Back room, left; top", code="BACK")
    raw = encode([["sku", "location", "on_hand"], ["A-1", "MAIN", "7"], ["B;2", "Back room, left; top", "3"]],
                 **VARIANTS[variant])
    imp = imports.stock_import_create(merchant=m, user=scope_a.user, upload=io.BytesIO(raw), filename="s.csv")
    assert imp.error_count == 0, imp.summary["errors"]
    assert [(c["sku"], c["location"], c["after"]) for c in imp.summary["changes"]] == [
        ("A-1", "MAIN", 7), ("B;2", "BACK", 3)]
    imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=scope_a.user)
    assert sorted(StockLevel.objects.filter(merchant=m, on_hand__gt=1).values_list("on_hand", flat=True)) == [3, 7]


@pytest.mark.parametrize("variant", VARIANTS)
def test_catalog_import_reads_every_dialect(scope_a, variant):
    m = scope_a.merchant
    raw = encode([["sku", "title", "price", "supplier"], ["MUG-1", "Mug, blue; large", "12.50", "Acme\tLtd"],
                  ["CUP-2", 'Cup "espresso"', "", ""]], **VARIANTS[variant])
    pv = imports.catalog_import(merchant=m, fileobj=io.BytesIO(raw), dry_run=False)
    assert pv.error_count == 0, pv.errors
    got = {p.sku: (p.title, p.price, p.supplier) for p in Product.objects.filter(merchant=m)}
    assert got["MUG-1"][0] == "Mug, blue; large" and str(got["MUG-1"][1]) == "12.50"
    assert got["CUP-2"] == ('Cup "espresso"', None, "")


@pytest.mark.parametrize("kind", ["stock", "catalog"])
def test_a_file_of_one_column_is_read_as_one_column(scope_a, kind):
    raw = codecs.BOM_UTF8 + b"sku\r\nA-1\r\nB-2\r\n"
    preview = import_preview.stock_preview if kind == "stock" else (lambda **kw: import_preview.catalog_preview(**kw)[0])
    pv = preview(merchant=scope_a.merchant, fileobj=io.BytesIO(raw))
    # the header was read as the one column "sku" (not split on anything): only what is missing is named
    messages = " ".join(e["message"] for e in pv.errors)
    assert "Unexpected column" not in messages
    if kind == "stock":
        assert "Missing column: location" in messages
    else:
        assert pv.row_count == 2 and "New product A-1 needs a title" in messages


@pytest.mark.parametrize(("text", "delimiter"), [
    ("sku,title\nA,B\n", ","),
    ("sku;title\nA;B\n", ";"),
    ("sku\ttitle\nA\tB\n", "\t"),
    ('sku,title\n"A;1","B;2;3"\n', ","),
    ('sku;title\n"A,1";"B, 2, 3"\n', ";"),
    ("sku\nA\nB\n", ","),
    ("sku\n", ","),
    ("", ","),
])
def test_delimiter_detection_table(text, delimiter):
    assert csv_delimiter(text) == delimiter


def test_byte_order_marks_are_dropped():
    assert csv_decode(codecs.BOM_UTF8 + "sku;título".encode()) == "sku;título"
    assert csv_decode(codecs.BOM_UTF16_LE + "sku\tx".encode("utf-16-le")) == "sku\tx"
    with pytest.raises(UnicodeDecodeError):
        csv_decode("sku;título".encode("cp1252"))


def test_a_file_in_a_legacy_code_page_is_a_form_error_saying_how_to_save_it(merchant_a):
    f = io.BytesIO("sku;title\r\nTÉ-1;Thé vert\r\n".encode("cp1252"))
    f.name = "legacy.csv"
    r = merchant_a.web.post("/inventory/import/", {"kind": "catalog", "file": f})
    assert r.status_code == 400 and "CSV UTF-8" in r.content.decode()


def _work(func, *args) -> tuple[int, set[str]]:
    """(Python lines executed, functions entered) while `func` runs: the work, counted, not timed."""
    lines, functions = [0], set()

    def tracer(frame, event, arg):
        if event == "call":
            functions.add(f"{frame.f_code.co_filename}:{frame.f_code.co_qualname}")
        elif event == "line":
            lines[0] += 1
        return tracer

    sys.settrace(tracer)
    try:
        func(*args)
    finally:
        sys.settrace(None)
    return lines[0], functions


def test_delimiter_detection_does_bounded_linear_work_on_a_hostile_upload():
    # Given: a 64 KB upload of lines of `,"` pairs, which kept csv.Sniffer's regular expressions busy for
    # about a minute (their backtracking is C work a tracer cannot see, so the Sniffer must not run at all),
    # and the same lines 10 MB long
    line = ',"' * 31 + "\n"
    hostile = "sku,title\n" + line * ((SAMPLE_CHARS - 10) // len(line))
    huge = hostile + line * (10 * 1024 * 1024 // len(line))
    # When: the delimiter is detected on each
    work, functions = _work(csv_delimiter, hostile)
    huge_work, _ = _work(csv_delimiter, huge)
    # Then: no Sniffer code ran, and the work is a few lines per sampled character, the same bound for a
    # file 160 times larger (only a bounded sample is read)
    assert [f for f in functions if "Sniffer" in f] == []
    assert work <= 4 * SAMPLE_CHARS
    assert huge_work <= 4 * SAMPLE_CHARS
    assert csv_delimiter(hostile) == ","
