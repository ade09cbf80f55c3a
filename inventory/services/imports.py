"""CSV in and out: stock import (preview, then all-or-nothing apply), catalog import, level export.
Reading and checking a file is inventory.services.import_preview.

Row numbers are line numbers of the file as a spreadsheet shows them: the header is row 1, the
first data row is row 2. A preview never writes stock; apply parses the stored file again (stock
may have moved since the preview) and applies every row or none.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from typing import IO, Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import ngettext

from accounts.models import Merchant, User
from accounts.tenancy import tenant_scope
from core.errors import ValidationFailed
from inventory.errors import InvalidStockOperation, OutOfStock
from inventory.models import Product, StockImport, StockLevel
from inventory.selectors import product_map_by_sku, sku_key
from inventory.services.adjust import stock_adjust_many
from inventory.services.catalog import PRODUCT_FIELDS, product_create, product_update
from inventory.services.import_preview import Preview, catalog_preview, stock_preview
from jobs import services as job_services
from jobs.registry import JobSummary
from jobs.services import JobRun, JobStopped, job_run

logger = logging.getLogger(__name__)

INLINE_LIMIT = 2_000  # bigger stock imports are applied by a background WorkerJob
CATALOG_PROGRESS_EVERY = 500  # rows between progress reports of a background catalog import
STOCK_KIND = "inventory.stock_import"
CATALOG_KIND = "inventory.catalog_import"


def stock_import_create(*, merchant: Merchant, user: User | None, upload: IO, filename: str) -> StockImport:
    """Store the upload (default storage) and its preview; nothing is applied yet."""
    content = upload.read()
    pv = stock_preview(merchant=merchant, fileobj=io.BytesIO(content))
    imp = _new_import(merchant, StockImport.Kind.STOCK, filename, user, pv)
    imp.file.save(filename or "stock.csv", ContentFile(content), save=False)
    imp.save()
    return imp


def _new_import(merchant: Merchant, kind: str, filename: str, user: User | None, pv: Preview) -> StockImport:
    failure = _preview_failure(pv)
    return StockImport(
        merchant=merchant, kind=kind, filename=filename[:255], created_by=user, row_count=pv.row_count,
        error_count=pv.error_count, summary={**pv.summary(), **({"failure": failure} if failure else {})},
        status=StockImport.Status.FAILED if failure else StockImport.Status.PREVIEWED,
    )


def catalog_import_create(*, merchant: Merchant, user: User | None, upload: IO, filename: str) -> StockImport:
    """Store a catalog CSV and its preview; products change only when it is applied."""
    content = upload.read()
    pv, _ = catalog_preview(merchant=merchant, fileobj=io.BytesIO(content))
    imp = _new_import(merchant, StockImport.Kind.CATALOG, filename, user, pv)
    imp.file.save(filename or "catalog.csv", ContentFile(content), save=False)
    imp.save()
    return imp


def _check_applicable(pv: Preview, valid_only: bool) -> None:
    """All or nothing refuses a file with errors; "the valid rows" refuses only a file with none valid."""
    if pv.error_count and not valid_only:
        raise ValidationFailed(
            ngettext("The file has %(n)s error; nothing was applied.", "The file has %(n)s errors; nothing was applied.",
                     pv.error_count) % {"n": pv.error_count},
            code="import_invalid", details={"errors": pv.errors},
        )
    if pv.error_count and not pv.change_count:
        raise ValidationFailed("No row of the file can be imported ("
                               + ngettext("%(n)s error", "%(n)s errors", pv.error_count) % {"n": pv.error_count}
                               + "); nothing was applied.",
                               code="import_invalid", details={"errors": pv.errors})


def _outcome(pv: Preview, valid_only: bool, **extra: Any) -> dict[str, Any]:
    return {**pv.summary(), **extra, "valid_only": valid_only, "skipped": pv.error_count if valid_only else 0}


def _preview_failure(pv: Preview) -> str:
    """Why a preview can import nothing ("" when it can): such a preview is shown as failed, not as an
    empty success."""
    if pv.error_count and not pv.change_count:
        return ngettext("Nothing in this file can be imported: %(n)s error, listed below.",
                        "Nothing in this file can be imported: %(n)s errors, listed below.",
                        pv.error_count) % {"n": f"{pv.error_count:,}"}
    if not pv.row_count:
        return "The file has no data rows under its header."
    return ""


def _apply_lines(*, merchant: Merchant, imp: StockImport, actor: User | None, pv: Preview,
                 valid_only: bool = False) -> int:
    _check_applicable(pv, valid_only)
    try:
        return stock_adjust_many(merchant=merchant, lines=pv.lines, actor=actor, reference=f"import:{imp.pk}",
                                 audit_action="stock.imported")
    except (OutOfStock, InvalidStockOperation) as exc:  # stock moved since the preview
        raise ValidationFailed(
            f"Stock changed since the preview: {exc.message} Nothing was applied.", code="import_invalid",
            details={"errors": [{"row": None, "message": exc.message}]},
        )


def stock_import_apply(*, merchant: Merchant, import_id: int, actor: User | None,
                       valid_only: bool = False) -> StockImport:
    """Apply a previewed import: inline when small, otherwise as a background WorkerJob.

    All or nothing by default; `valid_only` imports every row without an error and skips the others
    (the merchant chose it on the preview, seeing which rows are skipped)."""
    with transaction.atomic():
        imp = StockImport.objects.select_for_update(of=("self",)).get(merchant=merchant, pk=import_id)
        if imp.status != StockImport.Status.PREVIEWED:
            raise InvalidStockOperation(f"This import is already {imp.get_status_display().lower()}.",
                                        code="import_not_previewed")
        if imp.row_count > INLINE_LIMIT:  # README: files over 2,000 rows, stock or catalog, run in the background
            catalog = imp.kind == StockImport.Kind.CATALOG
            job = job_services.job_create(
                merchant=merchant, kind=CATALOG_KIND if catalog else STOCK_KIND,
                description=f"{'Catalog' if catalog else 'Stock'} import {imp.filename}",
                params={"import_id": imp.pk, "valid_only": valid_only}, total=imp.row_count, created_by=actor,
                # Safe to run again: the rows are applied in one transaction that checks the import first.
                max_attempts=3, task_name="inventory.stock_import_apply", task_kwargs={"import_id": imp.pk},
            )
            imp.status, imp.job = StockImport.Status.QUEUED, job
            imp.save(update_fields=["status", "job"])
            return imp
        if imp.kind == StockImport.Kind.CATALOG:
            with imp.file.open("rb") as fh:
                pv = catalog_import(merchant=merchant, fileobj=fh, dry_run=False, valid_only=valid_only)
            imp.status, imp.applied_at = StockImport.Status.APPLIED, timezone.now()
            imp.summary = _outcome(pv, valid_only)
            imp.save(update_fields=["status", "applied_at", "summary"])
            return imp
        with imp.file.open("rb") as fh:
            pv = stock_preview(merchant=merchant, fileobj=fh)
        written = _apply_lines(merchant=merchant, imp=imp, actor=actor, pv=pv, valid_only=valid_only)
        imp.status, imp.applied_at = StockImport.Status.APPLIED, timezone.now()
        imp.summary = _outcome(pv, valid_only, movements=written)
        imp.save(update_fields=["status", "applied_at", "summary"])
    return imp


def stock_import_run_job(*, merchant: Merchant, import_id: int) -> str:
    """The background half of a big import, run by jobs.services.job_run: parse with progress, then apply
    all rows in one transaction. A failure is recorded on the import as well as on the job."""
    imp = StockImport.objects.select_related("job").filter(merchant=merchant, pk=import_id).first()
    if imp is None or imp.job is None:
        return "missing"
    if imp.status == StockImport.Status.APPLIED:
        return "already-done"

    def body(run: JobRun) -> dict[str, Any]:
        job = run.job
        catalog = imp.kind == StockImport.Kind.CATALOG
        valid_only = bool(job.params.get("valid_only"))
        try:
            if catalog:
                pv, written = Preview(), 0
            else:
                with imp.file.open("rb") as fh:
                    pv = stock_preview(merchant=merchant, fileobj=fh,
                                       progress=lambda k: run.progress(k // 2, total=imp.row_count))
                run.progress(imp.row_count // 2)
            with transaction.atomic():
                locked = StockImport.objects.select_for_update(of=("self",)).get(merchant=merchant, pk=imp.pk)
                if locked.status == StockImport.Status.APPLIED:
                    return dict(job.result or {}, import_id=imp.pk, kind=imp.kind)
                if catalog:  # all rows or none, in this one transaction
                    with imp.file.open("rb") as fh:
                        pv = catalog_import(merchant=merchant, fileobj=fh, dry_run=False, valid_only=valid_only,
                                            progress=run.progress)
                    locked.summary = _outcome(pv, valid_only)
                else:
                    written = _apply_lines(merchant=merchant, imp=imp, actor=imp.created_by, pv=pv,
                                           valid_only=valid_only)
                    locked.summary = _outcome(pv, valid_only, movements=written)
                locked.status, locked.applied_at = StockImport.Status.APPLIED, timezone.now()
                locked.save(update_fields=["status", "applied_at", "summary"])
        except ValidationFailed as exc:
            StockImport.objects.filter(merchant=merchant, pk=imp.pk).update(
                status=StockImport.Status.FAILED, summary={**imp.summary, "failure": exc.message,
                                                           "errors": exc.details.get("errors", [])},
            )
            raise JobStopped(exc.message) from exc
        except Exception as exc:  # nothing was applied (one transaction); say so on the import too
            StockImport.objects.filter(merchant=merchant, pk=imp.pk).update(
                status=StockImport.Status.FAILED, summary={**imp.summary, "failure": f"Internal error: {exc!r}"},
            )
            raise
        return {"rows": pv.row_count, "changes": pv.change_count, "movements": written,
                "skipped": pv.error_count if valid_only else 0, "import_id": imp.pk, "kind": imp.kind}

    return job_run(merchant=merchant, job_id=imp.job_id, body=body)


# -- catalog ---------------------------------------------------------------------------------------

def catalog_import(*, merchant: Merchant, fileobj: IO, dry_run: bool = True, valid_only: bool = False,
                   progress: Callable[[int], None] | None = None) -> Preview:
    """Create or update products from a CSV: all rows or none, or (valid_only) every row without an error.
    dry_run only previews. `progress(rows done)` is called every CATALOG_PROGRESS_EVERY rows (the job page)."""
    pv, parsed = catalog_preview(merchant=merchant, fileobj=fileobj)
    if dry_run:
        return pv
    _check_applicable(pv, valid_only)
    with transaction.atomic():
        existing = product_map_by_sku(merchant=merchant, skus=[p[1] for p in parsed])
        for k, (_n, sku, fields) in enumerate(parsed, start=1):
            if progress and k % CATALOG_PROGRESS_EVERY == 0:
                progress(k)
            product = existing.get(sku_key(sku))
            if product is None:
                title = fields.pop("title")
                product_create(merchant=merchant, sku=sku, title=title, **{k: v for k, v in fields.items()
                                                                            if v is not None})
            else:
                if not fields.get("title"):
                    fields.pop("title", None)
                product_update(merchant=merchant, product=product, **fields)
    return pv


CATALOG_EXPORT_COLUMNS = ["sku", *PRODUCT_FIELDS]
TEMPLATES = {
    # kind: (file name, header, one example row): what a merchant downloads to start a file that imports.
    "stock": ("stock-import-template.csv", ["sku", "location", "on_hand"], ["MUG-BLUE", "MAIN", "24"]),
    "stock_delta": ("stock-changes-template.csv", ["sku", "location", "delta"], ["MUG-BLUE", "MAIN", "-3"]),
    "catalog": ("catalog-import-template.csv", CATALOG_EXPORT_COLUMNS, [
        "MUG-BLUE", "Blue mug", "5012345678900", "12.50", "4.10", "https://example.com/mug-blue.jpg", "Acme Ltd",
        "AC-7781", "350", "120", "90", "100", "Ceramic mug", "6912.00", "PT", "5", "yes", "no"]),
}


def import_template(kind: str) -> tuple[str, list[list[str]]]:
    """(file name, rows) of the template of an import: its header row and one example row that imports."""
    filename, header, example = TEMPLATES[kind]
    return filename, [header, example]


def catalog_export_rows(*, merchant: Merchant) -> Iterator[list[Any]]:
    """Every product with the columns the catalog import reads (a round trip), in id-ordered chunks."""
    yield CATALOG_EXPORT_COLUMNS
    last = 0
    while True:
        with tenant_scope(merchant):
            chunk = list(Product.objects.filter(merchant=merchant, pk__gt=last).order_by("pk")
                         .values_list("pk", *CATALOG_EXPORT_COLUMNS)[:2000])
        if not chunk:
            return
        for row in chunk:
            yield [_export_value(v) for v in row[1:]]
        last = chunk[-1][0]


def _export_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else value


SUMMARY_LINKS = 5  # products a job page links to by name


def import_job_summary(job: Any) -> JobSummary:
    """What a background import did, in words, with links to the import and to what it changed."""
    result, params = job.result or {}, job.params or {}
    imp = StockImport.objects.filter(merchant_id=job.merchant_id, pk=params.get("import_id")).first()
    catalog = (imp.kind if imp else result.get("kind")) == StockImport.Kind.CATALOG
    lines, links = [], []
    if imp is not None:
        lines.append(f"{'Catalog' if catalog else 'Stock'} import of {imp.filename or 'a file'}: "
                     + ngettext("%(n)s row.", "%(n)s rows.", imp.row_count) % {"n": f"{imp.row_count:,}"})
        links.append((f"The import #{imp.pk}", reverse("inventory-import-preview", args=[imp.pk])))
    if params.get("valid_only"):
        lines.append("Only the valid rows were chosen; rows with errors are skipped.")
    if result:
        changes = result.get("changes", 0)
        if catalog:
            lines.append(ngettext("%(n)s product created or updated.", "%(n)s products created or updated.", changes)
                         % {"n": f"{changes:,}"})
        else:
            movements = result.get("movements", 0)
            lines.append(ngettext("%(n)s stock level changed", "%(n)s stock levels changed", changes) % {"n": f"{changes:,}"}
                         + " (" + ngettext("%(n)s ledger movement", "%(n)s ledger movements", movements)
                         % {"n": f"{movements:,}"} + ").")
        if result.get("skipped"):
            lines.append(ngettext("%(n)s row with errors skipped.", "%(n)s rows with errors skipped.", result["skipped"])
                         % {"n": f"{result['skipped']:,}"})
    elif not job.is_finished:
        lines.append("Nothing is applied until every row is ready; then all at once.")
    elif imp is not None and imp.summary.get("failure"):
        lines.append(f"Nothing was applied: {imp.summary['failure']}")
    if imp is not None and imp.status == StockImport.Status.APPLIED:
        shown = imp.summary.get("changes", [])[:SUMMARY_LINKS]
        links += [(c["sku"], f"{reverse('inventory-list')}?{urlencode({'q': c['sku']})}") for c in shown]
        links.append(("All products", reverse("inventory-list")))
    return JobSummary(lines=lines, links=links)


def levels_export_rows(*, merchant: Merchant, location_id: int | None = None) -> Iterator[list[Any]]:
    """Rows for the levels CSV (header first), read in id order in chunks so memory stays flat.

    A streaming response runs this after the request's scope has closed, so each chunk is read
    inside the merchant's own scope again.
    """
    yield ["sku", "title", "location", "on_hand", "reserved", "available"]
    last = 0
    while True:
        with tenant_scope(merchant):
            chunk = _levels_chunk(merchant, last, location_id)
        if not chunk:
            return
        for lv in chunk:
            yield [lv.product.sku, lv.product.title, lv.location.code, lv.on_hand, lv.reserved,
                   lv.on_hand - lv.reserved]
        last = chunk[-1].pk


def _levels_chunk(merchant: Merchant, last: int, location_id: int | None) -> list[StockLevel]:
    qs = StockLevel.objects.filter(merchant=merchant, pk__gt=last).select_related("product", "location")
    if location_id:
        qs = qs.filter(location_id=location_id)
    return list(qs.order_by("pk")[:2000])

