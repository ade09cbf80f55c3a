"""CSV import (preview, all-or-nothing apply, background job for big files), export, catalog import."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.storage import default_storage

from accounts.tenancy import tenant_scope
from core.errors import ValidationFailed
from inventory import selectors
from inventory.models import Product, StockLevel, StockMovement
from inventory.services import import_preview, imports
from jobs.models import WorkerJob
from tests.inventory.helpers import make_bundle, make_product

pytestmark = pytest.mark.django_db


def csv_bytes(text: str) -> io.BytesIO:
    return io.BytesIO(text.strip().encode() + b"\n")


def test_three_bad_rows_are_named_and_apply_changes_nothing(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=5)
    make_product(m, "B-1", on_hand=5)
    make_bundle(m, "KIT", [(a, 1)])
    # given a file with good rows and three bad ones (unknown SKU, not a number, unknown location)
    upload = csv_bytes(
        "sku,location,delta\n"
        "A-1,MAIN,3\n"
        "NOPE,MAIN,1\n"
        "b-1,,2\n"
        "B-1,MAIN,many\n"
        "A-1,ATTIC,1\n"
    )
    # when it is previewed
    imp = imports.stock_import_create(merchant=m, user=scope_a.user, upload=upload, filename="stock.csv")
    # then the preview names the three rows and why, and lists the good changes
    assert imp.summary["errors"] == [
        {"row": 3, "message": "Unknown SKU NOPE."},
        {"row": 5, "message": "delta must be a whole number, not 'many'."},
        {"row": 6, "message": "Unknown location ATTIC."},
    ]
    assert [(c["row"], c["sku"], c["before"], c["after"]) for c in imp.summary["changes"]] == [
        (2, "A-1", 5, 8), (4, "B-1", 5, 7),
    ]
    assert default_storage.exists(imp.file.name)
    # and apply refuses, changing nothing
    with pytest.raises(ValidationFailed) as err:
        imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=scope_a.user)
    assert err.value.code == "import_invalid"
    assert sorted(StockLevel.objects.filter(merchant=m).values_list("on_hand", flat=True)) == [5, 5]
    assert StockMovement.objects.filter(merchant=m, reason="import").count() == 0


def test_extra_columns_are_rejected_with_a_message(scope_a):
    pv = import_preview.stock_preview(merchant=scope_a.merchant, fileobj=csv_bytes("sku,location,on_hand,price\nA,MAIN,1,3"))
    assert pv.errors == [{"row": 1, "message": "Unexpected column: price. Allowed: sku, location, and on_hand or delta."}]
    pv = import_preview.stock_preview(merchant=scope_a.merchant, fileobj=csv_bytes("sku,location,on_hand,delta\nA,MAIN,1,3"))
    assert pv.errors[0]["row"] == 1 and "exactly one" in pv.errors[0]["message"]


def test_changes_below_reserved_and_duplicates_are_errors_but_a_count_is_a_fact(scope_a):
    from inventory.services import ReserveRequest, stock_reserve

    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=5)
    stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 3, "r1")])
    pv = import_preview.stock_preview(merchant=m, fileobj=csv_bytes("sku,location,delta\nA-1,MAIN,-3\nA-1,main,9"))
    assert pv.errors == [
        {"row": 2, "message": "A-1 at MAIN: 3 are promised to orders, cannot set 2."},
        {"row": 3, "message": "A-1 at MAIN already appears in row 2."},
    ]
    # a count below what is reserved is recorded: the preview says which reserved units give way
    pv = import_preview.stock_preview(merchant=m, fileobj=csv_bytes("sku,location,on_hand\nA-1,MAIN,2"))
    assert pv.errors == [] and pv.changes[0]["releases"] == 1


def test_good_file_applies_all_rows_with_the_import_reason(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=5)
    make_product(m, "B-1")
    imp = imports.stock_import_create(merchant=m, user=scope_a.user, filename="s.csv",
                                      upload=csv_bytes("sku,location,on_hand\nA-1,MAIN,2\nB-1,MAIN,40"))
    imp = imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=scope_a.user)
    assert imp.status == "applied"
    assert {lv.product.sku: lv.on_hand for lv in StockLevel.objects.filter(merchant=m).select_related("product")} == {
        "A-1": 2, "B-1": 40}
    moves = StockMovement.objects.filter(merchant=m, reason="import").order_by("id")
    assert [(mv.product.sku, mv.on_hand_delta, mv.reference) for mv in moves] == [
        ("A-1", -3, f"import:{imp.pk}"), ("B-1", 40, f"import:{imp.pk}")]
    with pytest.raises(Exception, match="already applied"):
        imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=scope_a.user)


def test_big_file_runs_as_a_background_job_with_progress(merchant_a, monkeypatch, django_capture_on_commit_callbacks):
    m = merchant_a.merchant
    monkeypatch.setattr(imports, "INLINE_LIMIT", 10)
    with tenant_scope(m):
        for i in range(30):
            make_product(m, f"SKU-{i:03d}")
        body = "sku,location,delta\n" + "".join(f"SKU-{i:03d},MAIN,{i + 1}\n" for i in range(30))
        imp = imports.stock_import_create(merchant=m, user=merchant_a.user, upload=csv_bytes(body), filename="big.csv")
        # tasks are eager in tests: the job runs when the apply commits (the task enters its own scope)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            imp = imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=merchant_a.user)
        # the job, enqueued once; then, from the job's own stock change, the consumers' "marks committed" hook
        assert [c.__qualname__.split(".")[0] for c in callbacks] == ["enqueue_on_commit", "_notify_after_commit"]
        imp.refresh_from_db()
        job = WorkerJob.objects.get(merchant=m, pk=imp.job_id)
        assert (imp.status, job.kind, job.status) == ("applied", "inventory.stock_import", "succeeded")
        assert (job.progress_done, job.progress_total) == (30, 30)
        assert job.result == {"rows": 30, "changes": 30, "movements": 30, "skipped": 0, "import_id": imp.pk,
                              "kind": "stock"}
        assert sum(StockLevel.objects.filter(merchant=m).values_list("on_hand", flat=True)) == sum(range(1, 31))
        assert selectors.audit_differences(merchant=m) == []


def test_export_streams_every_level(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=4, title="Mug")
    r = merchant_a.web.get("/inventory/export.csv")
    assert r.status_code == 200 and r.streaming
    text = b"".join(r.streaming_content).decode()
    assert text.splitlines() == ["sku,title,location,on_hand,reserved,available", "A-1,Mug,MAIN,4,0,4"]


def test_catalog_import_creates_and_updates_all_or_nothing(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", title="Old")
    body = "sku,title,barcode,low_stock_threshold\nA-1,New title,,3\nB-2,Bowl,400123,\n"
    pv = imports.catalog_import(merchant=m, fileobj=csv_bytes(body), dry_run=True)
    assert [(c["row"], c["sku"], c["action"]) for c in pv.changes] == [(2, "A-1", "update"), (3, "B-2", "create")]
    imports.catalog_import(merchant=m, fileobj=csv_bytes(body), dry_run=False)
    assert sorted(selectors.product_list(merchant=m).values_list("sku", "title", "low_stock_threshold")) == [
        ("A-1", "New title", 3), ("B-2", "Bowl", 0)]
    bad = "sku,title,colour\nC-3,Cup,red\n"
    with pytest.raises(ValidationFailed):
        imports.catalog_import(merchant=m, fileobj=csv_bytes(bad), dry_run=False)
    bad_row = "sku,title,weight_grams\nC-3,Cup,10\nD-4,Dish,heavy\n"
    with pytest.raises(ValidationFailed) as err:
        imports.catalog_import(merchant=m, fileobj=csv_bytes(bad_row), dry_run=False)
    assert err.value.details["errors"] == [{"row": 3, "message": "weight_grams must be a whole number ≥ 0"}]
    assert not selectors.product_list(merchant=m).filter(sku="C-3").exists()


def test_catalog_file_over_the_inline_limit_runs_as_a_background_job(merchant_a, django_capture_on_commit_callbacks,
                                                                     monkeypatch):
    """README: files over 2,000 rows run in the background; a catalog of 2,050 rows did not."""
    monkeypatch.setattr(imports, "CATALOG_PROGRESS_EVERY", 10**6)  # progress: test_import_choices
    m = merchant_a.merchant
    body = "sku,title\n" + "".join(f"CAT-{i:04d},Thing {i}\n" for i in range(2050))
    with tenant_scope(m):
        imp = imports.catalog_import_create(merchant=m, user=merchant_a.user, upload=csv_bytes(body),
                                            filename="catalog.csv")
        assert (imp.row_count, imp.error_count) == (2050, 0)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            queued = imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=merchant_a.user)
        # the request only queued the job: no product exists yet
        assert (queued.status, len(callbacks)) == ("queued", 1)
        assert Product.objects.filter(merchant=m).count() == 0
        job = WorkerJob.objects.get(merchant=m, pk=queued.job_id)
        assert (job.kind, job.status) == ("inventory.catalog_import", "queued")
    # the worker runs it outside any scope, as production does
    callbacks[0]()
    with tenant_scope(m):
        imp.refresh_from_db()
        job.refresh_from_db()
        assert (imp.status, job.status) == ("applied", "succeeded")
        assert Product.objects.filter(merchant=m).count() == 2050


def test_nul_characters_in_a_csv_are_row_errors_and_nothing_is_applied(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=5)
    upload = io.BytesIO(b"sku,location,delta\nA-1,MAIN,3\nA-\x001,MAIN,1\n")
    imp = imports.stock_import_create(merchant=m, user=scope_a.user, upload=upload, filename="nul.csv")
    assert imp.error_count == 1
    assert imp.summary["errors"] == [{"row": 3, "message": "The row contains a NUL character."}]
    with pytest.raises(ValidationFailed):
        imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=scope_a.user)
    assert StockMovement.objects.filter(merchant=m, reason=StockMovement.Reason.IMPORT).count() == 0
    pv, _ = import_preview.catalog_preview(merchant=m, fileobj=io.BytesIO(b"sku,title\nB-1,Be\x00e\n"))
    assert pv.errors == [{"row": 2, "message": "The row contains a NUL character."}]


def test_a_field_over_the_csv_module_limit_is_a_row_error(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=5)
    huge = "x" * (csv.field_size_limit() + 1)
    upload = io.BytesIO(f'sku,location,delta\nA-1,MAIN,3\n"{huge}",MAIN,1\nA-1,MAIN,4\n'.encode())
    imp = imports.stock_import_create(merchant=m, user=scope_a.user, upload=upload, filename="huge.csv")
    assert imp.error_count == 1
    [error] = imp.summary["errors"]
    assert error["row"] == 3 and error["message"].startswith("This line cannot be read as CSV")
    pv, _ = import_preview.catalog_preview(merchant=m, fileobj=io.BytesIO(f"sku,title\nB-1,{huge}\n".encode()))
    assert pv.error_count == 1 and pv.errors[0]["row"] == 2


def test_the_import_page_shows_a_csv_with_a_huge_field_as_an_error_not_a_500(merchant_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    huge = "x" * (csv.field_size_limit() + 1)
    upload = SimpleUploadedFile("huge.csv", f"sku,title\n{huge},t\n".encode(), content_type="text/csv")
    r = merchant_a.web.post("/inventory/import/", {"kind": "catalog", "file": upload})
    assert r.status_code == 302
    r = merchant_a.web.get(r["Location"])
    assert r.status_code == 200 and b"cannot be read as CSV" in r.content


@pytest.mark.parametrize("header", ["sku,location,delta,delta", "sku,SKU,location,delta"])
def test_stock_csv_with_a_repeated_column_is_refused_in_the_preview(scope_a, header):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=5)
    values = {"sku,location,delta,delta": "A-1,MAIN,1,7", "sku,SKU,location,delta": "A-1,B-1,MAIN,1"}[header]
    imp = imports.stock_import_create(merchant=m, user=scope_a.user, upload=io.BytesIO(f"{header}\n{values}\n".encode()),
                                      filename="s.csv")
    assert [e["row"] for e in imp.summary["errors"]] == [1]
    assert "more than once" in imp.summary["errors"][0]["message"]
    assert imp.summary["change_count"] == 0


def test_catalog_csv_with_a_repeated_column_is_refused_in_the_preview(scope_a):
    pv = imports.catalog_import(merchant=scope_a.merchant, fileobj=io.BytesIO(b"sku,title,title\nA-1,Mug,Cup\n"))
    assert [e["row"] for e in pv.errors] == [1]
    assert "more than once" in pv.errors[0]["message"]
