"""Reading an import file: the stock and catalog CSVs checked row by row against the catalog and the levels,
into a Preview (what would change, every error by row). Nothing here writes; inventory.services.imports
stores, applies and runs imports from these previews."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.utils.translation import ngettext

from accounts.models import Merchant
from core.csv_read import DELIMITER_NAMES, csv_rows
from core.errors import ValidationFailed
from core.parsing import parse_money
from inventory.models import Product, StockLevel, StockMovement
from inventory.selectors import location_default, location_resolver, product_map_by_sku, sku_key
from inventory.services._core import MAX_UNITS
from inventory.services.adjust import AdjustLine
from inventory.services.catalog import PRODUCT_FIELDS, customs_clean

PREVIEW_CHANGES = 200  # changes kept for the preview page (all are counted)
PREVIEW_ERRORS = 500
MAX_ROWS = 500_000

CATALOG_COLUMNS = {"sku", "title", *PRODUCT_FIELDS}
CATALOG_TEXT_LIMITS = {"title": 255, "barcode": 64, "image_url": 500, "supplier": 255, "supplier_sku": 128,
                       "customs_description": 255, "hs_code": 16, "origin_country": 2}
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
        pv.error(1, ngettext("Unexpected column: %(c)s.", "Unexpected columns: %(c)s.", len(extra)) % {"c": ", ".join(extra)}
                 + " Allowed: sku, location, and on_hand or delta.")
    repeated = _repeated(header)
    if repeated:
        pv.error(1, ngettext("Column %(c)s appears more than once.", "Columns %(c)s appear more than once.",
                             len(repeated)) % {"c": ", ".join(repeated)})
    missing = [c for c in ("sku", "location") if c not in header]
    if missing:
        pv.error(1, ngettext("Missing column: %(c)s.", "Missing columns: %(c)s.", len(missing)) % {"c": ", ".join(missing)})
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
        product = products.get(sku_key(sku))
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
    if name in ("customs_description", "hs_code", "origin_country"):
        try:
            return customs_clean({name: raw})[name]
        except ValidationFailed as exc:
            raise ValueError(f"{name}: {exc.details['fields'][name]}") from None
    return raw


def _shown(value: Any) -> str:
    """A catalog value as the preview shows it (the summary is stored as JSON): yes/no, blank for not known."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def catalog_changed_fields(product: Product, fields: dict[str, Any]) -> list[dict[str, str]]:
    """What an update row would change on `product`, field by field as [{"field", "old", "new"}], in the
    file's column order: the preview shows old → new, so a merchant sees what a row does before applying
    it. A blank title keeps the product's title (as catalog_import applies it), so it is no change."""
    out = []
    for name, new in fields.items():
        if name == "title" and not new:
            continue
        old = getattr(product, name)
        if old != new:
            out.append({"field": str(Product._meta.get_field(name).verbose_name), "old": _shown(old),
                        "new": _shown(new)})
    return out


def catalog_preview(*, merchant: Merchant, fileobj: IO) -> tuple[Preview, list[tuple[int, str, dict]]]:
    """Check a catalog CSV (sku, title, and optional product fields); returns (preview, [(row, sku, fields)])."""
    pv = Preview(mode="catalog")
    header, rows = _reader(fileobj, pv)
    extra = [h for h in header if h not in CATALOG_COLUMNS]
    if extra:
        pv.error(1, ngettext("Unexpected column: %(c)s.", "Unexpected columns: %(c)s.", len(extra)) % {"c": ", ".join(extra)}
                 + f" Allowed: {', '.join(sorted(CATALOG_COLUMNS))}.")
    repeated = _repeated(header)
    if repeated:
        pv.error(1, ngettext("Column %(c)s appears more than once.", "Columns %(c)s appear more than once.",
                             len(repeated)) % {"c": ", ".join(repeated)})
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
        if sku_key(sku) in seen:
            pv.error(n, f"SKU {sku} already appears in row {seen[sku_key(sku)]}.")
            continue
        seen[sku_key(sku)] = n
        try:
            fields = {k: _catalog_value(k, v) for k, v in values.items()}
        except ValueError as exc:
            pv.error(n, str(exc))
            continue
        parsed.append((n, sku, fields))
    existing = product_map_by_sku(merchant=merchant, skus=[p[1] for p in parsed])
    valid = []
    for n, sku, fields in parsed:
        product = existing.get(sku_key(sku))
        if product is None and not fields.get("title", "").strip():
            pv.error(n, f"New product {sku} needs a title.")
            continue
        valid.append((n, sku, fields))
        pv.change_count += 1
        if len(pv.changes) < PREVIEW_CHANGES:
            pv.changes.append({"row": n, "sku": sku, "action": "update" if product else "create",
                               "title": fields.get("title") or (product.title if product else ""),
                               "fields": catalog_changed_fields(product, fields) if product else []})
    return pv, valid
