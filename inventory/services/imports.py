"""CSV in and out: stock import (preview, then all-or-nothing apply), catalog import, level export.

Row numbers are line numbers of the file as a spreadsheet shows them: the header is row 1, the
first data row is row 2. A preview never writes stock; apply parses the stored file again (stock
may have moved since the preview) and applies every row or none.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounts.models import Merchant, User
from accounts.tenancy import tenant_scope
from core.csv_read import DELIMITER_NAMES, csv_rows
from core.enqueue import enqueue_on_commit
from core.errors import ValidationFailed
from core.parsing import parse_money
from inventory.errors import InvalidStockOperation, OutOfStock
from inventory.models import Product, StockImport, StockLevel, StockMovement
from inventory.selectors import location_default, location_resolver, product_map_by_sku
from inventory.services._core import MAX_UNITS
from inventory.services.adjust import AdjustLine, stock_adjust_many
from inventory.services.catalog import PRODUCT_FIELDS, product_create, product_update
from jobs.registry import JobSummary

logger = logging.getLogger(__name__)

INLINE_LIMIT = 2_000  # bigger stock imports are applied by a background WorkerJob
PREVIEW_CHANGES = 200  # changes kept for the preview page (all are counted)
PREVIEW_ERRORS = 500
CATALOG_PROGRESS_EVERY = 500  # rows between progress reports of a background catalog import
MAX_ROWS = 500_000
STOCK_KIND = "inventory.stock_import"
CATALOG_KIND = "inventory.catalog_import"

CATALOG_COLUMNS = {"sku", "title", *PRODUCT_FIELDS}
CATALOG_TEXT_LIMITS = {"title": 255, "barcode": 64, "image_url": 500, "supplier": 255, "supplier_sku": 128}
_BOOL = {"1": True, "true": True, "yes": True, "y": True, "0": False, "false": False, "no": False, "n": False, "": False}


@dataclass
class Preview:
    row_count: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)
    change_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    lines: list[AdjustLine] = field(default_factory=list)
    mode: str = ""
    delimiter: str = ","

    def error(self, row: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < PREVIEW_ERRORS:
            self.errors.append({"row": row, "message": message})

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "delimiter": DELIMITER_NAMES.get(self.delimiter, self.delimiter),
            "row_count": self.row_count, "change_count": self.change_count,
            "changes": self.changes, "error_count": self.error_count, "errors": self.errors,
        }


def _reader(fileobj: IO, pv: Preview) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(lower-cased header, data rows numbered as a spreadsheet shows them: the header is row 1).

    What the csv module cannot read (a field over its size limit, a broken quote) and rows holding a
    NUL character (which PostgreSQL cannot store) become errors of their row in the preview, never
    an exception: nothing after an unreadable line is read.
    """
    pv.delimiter, reader = csv_rows(fileobj.read())

    def numbered() -> Iterator[tuple[int, list[str]]]:
        n = 0
        while True:
            n += 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                pv.error(n, f"This line cannot be read as CSV ({exc}); nothing after it was read.")
                return
            if any("\x00" in cell for cell in row):
                pv.error(n, "The row contains a NUL character.")
                row = [] if n == 1 else None
            if row is not None:
                yield n, row

    rows = numbered()
    _, header = next(rows, (1, []))
    return [h.strip().lower() for h in header], rows


def _repeated(header: list[str]) -> list[str]:
    return sorted({h for h in header if header.count(h) > 1})


def _int(value: str) -> int | None:
    try:
        return int(value.strip().replace("+", "", 1)) if value.strip() else None
    except ValueError:
        return None


def stock_preview(
    *, merchant: Merchant, fileobj: IO, progress: Callable[[int], None] | None = None
) -> Preview:
    """Check every row of a stock CSV against the current catalog and levels; write nothing."""
    pv = Preview()
    header, rows = _reader(fileobj, pv)
    allowed = {"sku", "location", "on_hand", "delta"}
    extra = [h for h in header if h not in allowed]
    if extra:
        pv.error(1, f"Unexpected column(s): {', '.join(extra)}. Allowed: sku, location, and on_hand or delta.")
    repeated = _repeated(header)
    if repeated:
        pv.error(1, f"Column(s) {', '.join(repeated)} appear more than once.")
    missing = [c for c in ("sku", "location") if c not in header]
    if missing:
        pv.error(1, f"Missing column(s): {', '.join(missing)}.")
    if ("on_hand" in header) == ("delta" in header):
        pv.error(1, "Give exactly one of the columns on_hand (a count) or delta (a change).")
    if pv.error_count:
        return pv
    pv.mode = "on_hand" if "on_hand" in header else "delta"
    i_sku, i_loc, i_val = header.index("sku"), header.index("location"), header.index(pv.mode)
    data = []
    for n, row in rows:
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            pv.error(n, f"Expected {len(header)} values, found {len(row)}.")
            continue
        data.append((n, row[i_sku].strip(), row[i_loc].strip(), row[i_val]))
        if len(data) > MAX_ROWS:
            pv.error(n, f"Too many rows: at most {MAX_ROWS:,} per file.")
            return pv
    pv.row_count = len(data)
    products = product_map_by_sku(merchant=merchant, skus=[d[1] for d in data])
    resolve_location = location_resolver(merchant=merchant)
    default = location_default(merchant=merchant)
    levels: dict[tuple[int, int], tuple[int, int, bool]] = {}
    pids = sorted({p.pk for p in products.values()})
    for i in range(0, len(pids), 10_000):
        for pid, lid, on_hand, reserved, bo in StockLevel.objects.filter(
            merchant=merchant, product_id__in=pids[i : i + 10_000]
        ).values_list("product_id", "location_id", "on_hand", "reserved", "allows_backorder"):
            levels[(pid, lid)] = (on_hand, reserved, bo)
    seen: dict[tuple[int, int], int] = {}
    for k, (n, sku, loc_name, raw) in enumerate(data, start=1):
        if progress and k % 10_000 == 0:
            progress(k)
        product = products.get(sku.lower())
        if not sku:
            pv.error(n, "SKU is empty.")
            continue
        if product is None:
            pv.error(n, f"Unknown SKU {sku}.")
            continue
        if product.is_bundle:
            pv.error(n, f"{product.sku} is a bundle; import its components instead.")
            continue
        location = resolve_location(loc_name) if loc_name else default
        if location is None:
            pv.error(n, f"Unknown location {loc_name}.")
            continue
        value = _int(raw)
        if value is None:
            pv.error(n, f"{pv.mode} must be a whole number, not {raw.strip()!r}.")
            continue
        if abs(value) > MAX_UNITS:
            pv.error(n, f"{pv.mode} {value} is too large (at most {MAX_UNITS:,}).")
            continue
        key = (product.pk, location.pk)
        if key in seen:
            pv.error(n, f"{product.sku} at {location.code} already appears in row {seen[key]}.")
            continue
        seen[key] = n
        on_hand, reserved, backorder = levels.get(key, (0, 0, product.allows_backorder))
        after = value if pv.mode == "on_hand" else on_hand + value
        if after < 0:
            pv.error(n, f"{product.sku} at {location.code} would go to {after}; stock cannot be negative.")
            continue
        if after > MAX_UNITS:
            pv.error(n, f"{product.sku} at {location.code} would go to {after}, too large (at most {MAX_UNITS:,}).")
            continue
        releases = 0
        if not backorder and after < reserved:
            if pv.mode == "delta":
                pv.error(n, f"{product.sku} at {location.code}: {reserved} are promised to orders, cannot set {after}.")
                continue
            releases = reserved - after  # a count is a fact: the newest reservations give way
        if after == on_hand:
            continue
        pv.change_count += 1
        if len(pv.changes) < PREVIEW_CHANGES:
            pv.changes.append({"row": n, "sku": product.sku, "location": location.code, "before": on_hand,
                               "after": after, "delta": after - on_hand, "releases": releases})
        pv.lines.append(AdjustLine(
            product_id=product.pk, location_id=location.pk, reason=StockMovement.Reason.IMPORT,
            delta=value if pv.mode == "delta" else None, on_hand=value if pv.mode == "on_hand" else None,
        ))
    return pv


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
            f"The file has {pv.error_count} error(s); nothing was applied.",
            code="import_invalid", details={"errors": pv.errors},
        )
    if pv.error_count and not pv.change_count:
        raise ValidationFailed(f"No row of the file can be imported ({pv.error_count} error(s)); nothing was applied.",
                               code="import_invalid", details={"errors": pv.errors})


def _outcome(pv: Preview, valid_only: bool, **extra: Any) -> dict[str, Any]:
    return {**pv.summary(), **extra, "valid_only": valid_only, "skipped": pv.error_count if valid_only else 0}


def _preview_failure(pv: Preview) -> str:
    """Why a preview can import nothing ("" when it can): such a preview is shown as failed, not as an
    empty success."""
    if pv.error_count and not pv.change_count:
        return f"Nothing in this file can be imported: {pv.error_count:,} error(s), listed below."
    if not pv.row_count:
        return "The file has no data rows under its header."
    return ""


def _apply_lines(*, merchant: Merchant, imp: StockImport, actor: User | None, pv: Preview,
                 valid_only: bool = False) -> int:
    _check_applicable(pv, valid_only)
    try:
        return stock_adjust_many(merchant=merchant, lines=pv.lines, actor=actor, reference=f"import:{imp.pk}")
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
    from jobs.services import job_create

    with transaction.atomic():
        imp = StockImport.objects.select_for_update(of=("self",)).get(merchant=merchant, pk=import_id)
        if imp.status != StockImport.Status.PREVIEWED:
            raise InvalidStockOperation(f"This import is already {imp.get_status_display().lower()}.",
                                        code="import_not_previewed")
        if imp.row_count > INLINE_LIMIT:  # README: files over 2,000 rows, stock or catalog, run in the background
            catalog = imp.kind == StockImport.Kind.CATALOG
            job = job_create(
                merchant=merchant, kind=CATALOG_KIND if catalog else STOCK_KIND,
                description=f"{'Catalog' if catalog else 'Stock'} import {imp.filename}",
                params={"import_id": imp.pk, "valid_only": valid_only}, total=imp.row_count, created_by=actor,
                max_attempts=1,
            )
            imp.status, imp.job = StockImport.Status.QUEUED, job
            imp.save(update_fields=["status", "job"])
            enqueue_on_commit("inventory.stock_import_apply", merchant_id=merchant.pk, import_id=imp.pk)
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
    """The background half of a big import: parse with progress, then apply all rows in one transaction."""
    from jobs.services import job_fail, job_progress, job_start, job_succeed

    imp = StockImport.objects.select_related("job").filter(merchant=merchant, pk=import_id).first()
    if imp is None:
        return "missing"
    if imp.status == StockImport.Status.APPLIED:
        return "already-done"
    job = job_start(job=imp.job)
    catalog = imp.kind == StockImport.Kind.CATALOG
    valid_only = bool(job.params.get("valid_only"))
    try:
        if catalog:
            pv, written = Preview(), 0
        else:
            with imp.file.open("rb") as fh:
                pv = stock_preview(merchant=merchant, fileobj=fh,
                                   progress=lambda k: job_progress(job=job, done=k // 2, total=imp.row_count))
            job_progress(job=job, done=imp.row_count // 2)
        with transaction.atomic():
            locked = StockImport.objects.select_for_update(of=("self",)).get(merchant=merchant, pk=imp.pk)
            if locked.status == StockImport.Status.APPLIED:
                return "already-done"
            if catalog:  # all rows or none, in this one transaction
                with imp.file.open("rb") as fh:
                    pv = catalog_import(merchant=merchant, fileobj=fh, dry_run=False, valid_only=valid_only,
                                        progress=lambda k: job_progress(job=job, done=k))
                locked.summary = _outcome(pv, valid_only)
            else:
                written = _apply_lines(merchant=merchant, imp=imp, actor=imp.created_by, pv=pv, valid_only=valid_only)
                locked.summary = _outcome(pv, valid_only, movements=written)
            locked.status, locked.applied_at = StockImport.Status.APPLIED, timezone.now()
            locked.save(update_fields=["status", "applied_at", "summary"])
    except ValidationFailed as exc:
        StockImport.objects.filter(merchant=merchant, pk=imp.pk).update(
            status=StockImport.Status.FAILED, summary={**imp.summary, "failure": exc.message,
                                                       "errors": exc.details.get("errors", [])},
        )
        job_fail(job=job, error=exc.message, retryable=False)
        return "failed"
    except Exception as exc:  # nothing was applied (one transaction); say so instead of hanging "running"
        logger.exception("inventory.import.crashed", extra={"merchant_id": merchant.pk, "import_id": imp.pk})
        StockImport.objects.filter(merchant=merchant, pk=imp.pk).update(
            status=StockImport.Status.FAILED, summary={**imp.summary, "failure": f"Internal error: {exc!r}"},
        )
        job_fail(job=job, error=repr(exc), retryable=False)
        raise
    job_succeed(job=job, result={"rows": pv.row_count, "changes": pv.change_count, "movements": written,
                                 "skipped": pv.error_count if valid_only else 0, "import_id": imp.pk,
                                 "kind": imp.kind})
    return "ok"


# -- catalog ---------------------------------------------------------------------------------------

def _catalog_value(name: str, raw: str) -> Any:
    raw = raw.strip()
    if name in ("is_active", "allows_backorder"):
        if raw.lower() not in _BOOL:
            raise ValueError(f"{name} must be yes/no, true/false or 1/0")
        return True if name == "is_active" and raw == "" else _BOOL[raw.lower()]
    if name in ("weight_grams", "length_mm", "width_mm", "height_mm", "low_stock_threshold"):
        if raw == "":
            return 0 if name == "low_stock_threshold" else None
        value = _int(raw)
        if value is None or value < 0:
            raise ValueError(f"{name} must be a whole number ≥ 0")
        if value > MAX_UNITS:
            raise ValueError(f"{name} is too large (at most {MAX_UNITS:,})")
        return value
    if name in ("price", "cost"):
        if raw == "":
            return None  # not known (never zero by accident)
        try:
            return parse_money(raw.replace(",", ".") if raw.count(",") == 1 and "." not in raw else raw, field=name)
        except ValidationFailed as exc:
            raise ValueError(exc.message) from None
    if name == "image_url" and raw:
        try:
            URLValidator(schemes=["http", "https"])(raw)
        except DjangoValidationError:
            raise ValueError("image_url must be an http(s) address") from None
    limit = CATALOG_TEXT_LIMITS.get(name)
    if limit is not None and len(raw) > limit:
        raise ValueError(f"{name} has at most {limit} characters")
    return raw


def catalog_preview(*, merchant: Merchant, fileobj: IO) -> tuple[Preview, list[tuple[int, str, dict]]]:
    """Check a catalog CSV (sku, title, and optional product fields); returns (preview, [(row, sku, fields)])."""
    pv = Preview(mode="catalog")
    header, rows = _reader(fileobj, pv)
    extra = [h for h in header if h not in CATALOG_COLUMNS]
    if extra:
        pv.error(1, f"Unexpected column(s): {', '.join(extra)}. Allowed: {', '.join(sorted(CATALOG_COLUMNS))}.")
    repeated = _repeated(header)
    if repeated:
        pv.error(1, f"Column(s) {', '.join(repeated)} appear more than once.")
    if "sku" not in header:
        pv.error(1, "Missing column: sku.")
    if pv.error_count:
        return pv, []
    parsed: list[tuple[int, str, dict]] = []
    seen: dict[str, int] = {}
    for n, row in rows:
        if not any(c.strip() for c in row):
            continue
        pv.row_count += 1
        if len(row) != len(header):
            pv.error(n, f"Expected {len(header)} values, found {len(row)}.")
            continue
        values = dict(zip(header, row, strict=True))
        sku = values.pop("sku").strip()
        if not sku or len(sku) > 64:
            pv.error(n, "SKU must have 1 to 64 characters.")
            continue
        if sku.lower() in seen:
            pv.error(n, f"SKU {sku} already appears in row {seen[sku.lower()]}.")
            continue
        seen[sku.lower()] = n
        try:
            fields = {k: _catalog_value(k, v) for k, v in values.items()}
        except ValueError as exc:
            pv.error(n, str(exc))
            continue
        parsed.append((n, sku, fields))
    existing = product_map_by_sku(merchant=merchant, skus=[p[1] for p in parsed])
    valid = []
    for n, sku, fields in parsed:
        product = existing.get(sku.lower())
        if product is None and not fields.get("title", "").strip():
            pv.error(n, f"New product {sku} needs a title.")
            continue
        valid.append((n, sku, fields))
        pv.change_count += 1
        if len(pv.changes) < PREVIEW_CHANGES:
            pv.changes.append({"row": n, "sku": sku, "action": "update" if product else "create",
                               "title": fields.get("title") or (product.title if product else "")})
    return pv, valid


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
            product = existing.get(sku.lower())
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
        "AC-7781", "350", "120", "90", "100", "5", "yes", "no"]),
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
                     f"{imp.row_count:,} row(s).")
        links.append((f"The import #{imp.pk}", reverse("inventory-import-preview", args=[imp.pk])))
    if params.get("valid_only"):
        lines.append("Only the valid rows were chosen; rows with errors are skipped.")
    if result:
        changes = result.get("changes", 0)
        if catalog:
            lines.append(f"{changes:,} product(s) created or updated.")
        else:
            lines.append(f"{changes:,} stock level(s) changed ({result.get('movements', 0):,} ledger movement(s)).")
        if result.get("skipped"):
            lines.append(f"{result['skipped']:,} row(s) with errors skipped.")
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

