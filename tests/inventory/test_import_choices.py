"""Import choices: templates that import, "import the valid rows" beside all-or-nothing, previews that
failed shown as failed, and the catalog export that imports again."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest

from accounts.tenancy import tenant_scope
from core.errors import ValidationFailed
from inventory.models import Product, StockImport, StockLevel
from inventory.services import imports
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db


def _upload(web, kind: str, body: bytes, name: str = "f.csv"):
    f = io.BytesIO(body)
    f.name = name
    return web.post("/inventory/import/", {"kind": kind, "file": f})


def test_valid_rows_only_applies_the_good_rows_and_skips_the_rest(merchant_a):
    m, web = merchant_a.merchant, merchant_a.web
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=1)
        make_product(m, "B-1", on_hand=1)
    r = _upload(web, "stock", b"sku;location;on_hand\r\nA-1;MAIN;5\r\nNOPE;MAIN;3\r\nB-1;MAIN;x\r\nB-1;MAIN;8\r\n")
    assert r.status_code == 302
    with tenant_scope(m):
        imp = StockImport.objects.get(merchant=m)
    page = web.get(r.url).content.decode()
    assert "Import the 2 valid rows" in page and "Unknown SKU NOPE" in page
    # all or nothing is still refused while the file has errors
    with tenant_scope(m), pytest.raises(ValidationFailed):
        imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=merchant_a.user)
    # the explicit choice applies what is valid
    r = web.post(f"/inventory/import/{imp.pk}/", {"rows": "valid"})
    assert r.status_code == 302
    with tenant_scope(m):
        imp.refresh_from_db()
        levels = {lv.product.sku: lv.on_hand for lv in StockLevel.objects.filter(merchant=m).select_related("product")}
    assert imp.status == "applied" and imp.summary["skipped"] == 2 and imp.summary["valid_only"] is True
    assert levels == {"A-1": 5, "B-1": 8}
    assert "2 rows with errors were skipped" in web.get(f"/inventory/import/{imp.pk}/").content.decode()


def test_valid_rows_only_for_a_catalog(scope_a):
    m = scope_a.merchant
    body = b"sku,title,price\nOK-1,Fine,1.00\nBAD-1,Bad,-3\nNEW-2,,\n"
    imp = imports.catalog_import_create(merchant=m, user=scope_a.user, upload=io.BytesIO(body), filename="c.csv")
    assert (imp.status, imp.error_count, imp.summary["change_count"]) == ("previewed", 2, 1)
    imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=scope_a.user, valid_only=True)
    assert list(Product.objects.filter(merchant=m).values_list("sku", flat=True)) == ["OK-1"]


@pytest.mark.parametrize(("kind", "body", "why"), [
    ("stock", b"sku,location,price\nA-1,MAIN,3\n", "Nothing in this file can be imported"),
    ("stock", b"sku,location,on_hand\n", "no data rows"),
    ("catalog", b"\xef\xbb\xbfsku;title\r\n", "no data rows"),
    ("catalog", b"sku,title\nNOPE,\n", "Nothing in this file can be imported"),
])
def test_a_preview_that_can_import_nothing_is_shown_as_failed(merchant_a, kind, body, why):
    web = merchant_a.web
    r = _upload(web, kind, body)
    assert r.status_code == 302
    page = web.get(r.url).content.decode()
    assert "Failed" in page and why in page and "Apply import" not in page
    with tenant_scope(merchant_a.merchant):
        imp = StockImport.objects.get(merchant=merchant_a.merchant)
    assert imp.status == "failed"
    assert web.post(f"/inventory/import/{imp.pk}/", {"rows": "valid"}).status_code == 302  # refused, not a 500
    with tenant_scope(merchant_a.merchant):
        imp.refresh_from_db()
    assert imp.status == "failed"


@pytest.mark.parametrize("kind", ["stock", "stock_delta", "catalog"])
def test_each_template_downloads_and_imports_as_it_is(merchant_a, kind):
    m, web = merchant_a.merchant, merchant_a.web
    r = web.get(f"/inventory/import/template/{kind}.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    body = b"".join(r.streaming_content)
    assert len(body.decode().strip().splitlines()) == 2
    with tenant_scope(m):
        make_product(m, "MUG-BLUE", on_hand=5)
        create = imports.catalog_import_create if kind == "catalog" else imports.stock_import_create
        imp = create(merchant=m, user=merchant_a.user, upload=io.BytesIO(body), filename="t.csv")
    assert imp.error_count == 0, imp.summary["errors"]
    assert imp.summary["change_count"] == 1
    assert web.get("/inventory/import/template/nope.csv").status_code == 404


def test_catalog_export_imports_again_and_is_the_merchants_own(merchant_a, merchant_b):
    from decimal import Decimal

    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", price=Decimal("9.90"), cost=Decimal("3.00"), supplier="Acme, Ltd", is_active=False)
    with tenant_scope(merchant_b.merchant):
        make_product(merchant_b.merchant, "SECRET-B")
    body = b"".join(merchant_a.web.get("/inventory/catalog.csv").streaming_content)
    text = body.decode()
    assert "SECRET-B" not in text and '"Acme, Ltd"' in text and "9.90" in text
    with tenant_scope(m):
        pv = imports.catalog_import(merchant=m, fileobj=io.BytesIO(body), dry_run=False)
        p = Product.objects.get(merchant=m, sku="A-1")
    assert pv.error_count == 0
    assert (p.price, p.cost, p.supplier, p.is_active) == (Decimal("9.90"), Decimal("3.00"), "Acme, Ltd", False)


def test_a_background_import_job_page_speaks_in_words_and_links_back(merchant_a, merchant_b, monkeypatch,
                                                                     django_capture_on_commit_callbacks):
    m, web = merchant_a.merchant, merchant_a.web
    monkeypatch.setattr(imports, "INLINE_LIMIT", 3)
    with tenant_scope(m):
        for i in range(5):
            make_product(m, f"SKU-{i}")
        body = ("sku,location,on_hand\n" + "".join(f"SKU-{i},MAIN,{i + 1}\n" for i in range(5)) + "NOPE,MAIN,1\n").encode()
        imp = imports.stock_import_create(merchant=m, user=merchant_a.user, upload=io.BytesIO(body), filename="big.csv")
        with django_capture_on_commit_callbacks(execute=True):
            imp = imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=merchant_a.user, valid_only=True)
        imp.refresh_from_db()
    assert imp.status == "applied" and imp.job_id
    page = web.get(f"/jobs/{imp.job_id}/").content.decode()
    assert "&#x27;movements&#x27;" not in page and "&#x27;rows&#x27;" not in page  # no raw dictionary
    assert "Stock import of big.csv: 6 rows." in page
    assert "5 stock levels changed (5 ledger movements)." in page
    assert "1 row with errors skipped." in page
    assert f'href="/inventory/import/{imp.pk}/"' in page and 'href="/inventory/?q=SKU-0"' in page
    assert merchant_b.web.get(f"/jobs/{imp.job_id}/").status_code == 404


def test_a_kind_nobody_describes_is_still_shown_in_words(merchant_a):
    from jobs import services as job_services

    with tenant_scope(merchant_a.merchant):
        job = job_services.job_create(merchant=merchant_a.merchant, kind="someone.else", description="Other")
        job_services.job_succeed(job=job, result={"orders_done": 1200, "failed": {"A-1": 2}, "ok": True})
    page = merchant_a.web.get(f"/jobs/{job.pk}/").content.decode()
    assert "Orders done: 1,200." in page and "Failed: a-1 2." in page and "Ok: yes." in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "progress"])  # progress: its own connection
def test_a_background_catalog_import_reports_progress(merchant_a, monkeypatch, django_capture_on_commit_callbacks):
    from jobs import services as job_services

    m = merchant_a.merchant
    monkeypatch.setattr(imports, "INLINE_LIMIT", 3)
    monkeypatch.setattr(imports, "CATALOG_PROGRESS_EVERY", 2)
    seen: list[int] = []
    real = job_services.job_progress
    monkeypatch.setattr(job_services, "job_progress", lambda *, job, done, total=None: (seen.append(done),
                                                                                        real(job=job, done=done)))
    body = ("sku,title\n" + "".join(f"CAT-{i},Thing {i}\n" for i in range(5))).encode()
    with tenant_scope(m):
        imp = imports.catalog_import_create(merchant=m, user=merchant_a.user, upload=io.BytesIO(body), filename="c.csv")
        with django_capture_on_commit_callbacks(execute=True):
            imp = imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=merchant_a.user)
        imp.refresh_from_db()
        assert imp.status == "applied" and Product.objects.filter(merchant=m).count() == 5
    assert seen == [2, 4]
    page = merchant_a.web.get(f"/jobs/{imp.job_id}/").content.decode()
    assert "5 products created or updated." in page and "All products" in page


def test_the_catalog_preview_shows_each_changed_field_old_to_new(merchant_a):
    m, web = merchant_a.merchant, merchant_a.web
    with tenant_scope(m):
        make_product(m, "A-1", title="Blue mug", price=Decimal("12.50"), low_stock_threshold=2)
        make_product(m, "B-1", title="Bowl", price=Decimal("9.00"))
    body = (b"sku,title,price,low_stock_threshold,allows_backorder\n"
            b"A-1,Blue mug,14.00,2,yes\nB-1,,9.00,0,no\nC-1,Cup,3.00,,\n")
    r = _upload(web, "catalog", body)
    assert r.status_code == 302
    page = web.get(r.url).content.decode()
    rows = {sku: row for sku, row in re.findall(r'<td class="mono">([A-Z]-1)</td>(.*?)</tr>', page, re.S)}
    text = {sku: " ".join(re.sub(r"<[^>]+>", " ", row).split()) for sku, row in rows.items()}
    # the price and the backorder switch change on A-1; its title and threshold stay as they are
    assert "Price: 12.50 → 14.00" in text["A-1"] and "Allows backorder: no → yes" in text["A-1"]
    assert "Title:" not in text["A-1"] and "threshold" not in text["A-1"].lower()
    # a row that matches the product changes nothing, and says so; a new product says it is new
    assert "nothing (already as in the file)" in text["B-1"]
    assert text["C-1"] == "New product Cup new product"
    with tenant_scope(m):
        assert Product.objects.get(merchant=m, sku="A-1").price == Decimal("12.50")  # a preview writes nothing
