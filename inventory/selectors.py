"""Reads worth naming: products, levels, movements, availability, low stock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django.utils import timezone

from accounts.models import Merchant
from accounts.tenancy import unscoped
from core.db import bound_cursor
from core.errors import NotFound
from inventory.errors import LocationNotFound, ProductNotFound, UnknownSku
from inventory.models import (
    AvailabilityMark,
    BundleComponent,
    Location,
    Product,
    Reservation,
    SkuAlias,
    StockImport,
    StockLevel,
    StockMovement,
)
from inventory.registry import ReferenceLink

UNLIMITED = 10**12  # what a backorderable product counts as available


def units_available(levels: Iterable[tuple[int, int, bool]]) -> int:
    """Available units over some levels of one product, given as (on_hand, reserved, allows_backorder):
    one level that takes backorders makes the product unlimited. The one rule, for reads and for StockTx."""
    total = 0
    for on_hand, reserved, allows_backorder in levels:
        if allows_backorder:
            return UNLIMITED
        total += on_hand - reserved
    return total


def units_held(rows: Iterable[tuple[int, int, int]]) -> int:
    """Units of a reserved product held by one reference's reservation rows, given as (stock product id,
    quantity, per unit): a bundle counts only whole bundles. The one rule, for reads and for the stock services."""
    per_component: dict[int, int] = defaultdict(int)
    per_unit: dict[int, int] = {}
    for pid, quantity, per in rows:
        per_component[pid] += quantity
        per_unit[pid] = per
    if not per_component:
        return 0
    return min(q // per_unit[pid] for pid, q in per_component.items())


def stock_import_recent(*, merchant: Merchant, limit: int = 10) -> list[StockImport]:
    return list(StockImport.objects.filter(merchant=merchant).order_by("-id")[:limit])


def stock_import_get(*, merchant: Merchant, pk: int) -> StockImport:
    imp = StockImport.objects.filter(merchant=merchant, pk=pk).select_related("job").first()
    if imp is None:
        raise NotFound("No such import.")
    return imp


def product_list(*, merchant: Merchant) -> QuerySet[Product]:
    return Product.objects.filter(merchant=merchant).order_by("sku", "id")


def product_get(*, merchant: Merchant, pk: int) -> Product:
    product = Product.objects.filter(merchant=merchant, pk=pk).first()
    if product is None:
        raise ProductNotFound()
    return product


def product_get_by_sku(*, merchant: Merchant, sku: str) -> Product:
    product = Product.objects.filter(merchant=merchant, sku__iexact=(sku or "").strip()).first()
    if product is None:
        raise ProductNotFound(f"No product with SKU {sku}.", details={"sku": sku})
    return product


def sku_key(sku: str | None) -> str:
    """The one key two SKUs are compared by, wherever a SKU meets another (a product's, an alias, an order
    line's, a listing's): surrounding spaces dropped, case ignored (lower(), as the indexes' Lower())."""
    return (sku or "").strip().lower()


def product_map_by_sku(*, merchant: Merchant, skus: Iterable[str]) -> dict[str, Product]:
    """{sku_key: Product} for the SKUs that are products' own (no aliases); matching is case-insensitive."""
    wanted = {sku_key(s) for s in skus} - {""}
    if not wanted:
        return {}
    out: dict[str, Product] = {}
    wanted_list = sorted(wanted)
    for i in range(0, len(wanted_list), 5000):
        chunk = wanted_list[i : i + 5000]
        qs = Product.objects.filter(merchant=merchant).annotate(sku_lower=Lower("sku")).filter(sku_lower__in=chunk)
        for p in qs:
            out[p.sku_lower] = p
    return out


@dataclass(slots=True, frozen=True)
class ProductInfo:
    """What the stock services need of a product, as plain values (light: imports load 100,000 of them, and a
    page of orders matches 750 lines; a Product instance costs Django several times the row). `merchant_id`:
    whose product it is, so a stock service handed one by a caller can refuse another merchant's (None: not
    known, and read again)."""

    pk: int
    sku: str
    is_bundle: bool
    allows_backorder: bool
    low_stock_threshold: int
    merchant_id: int | None = None

    @classmethod
    def of(cls, product: Product) -> ProductInfo:
        return cls(product.pk, product.sku, product.is_bundle, product.allows_backorder, product.low_stock_threshold,
                   product.merchant_id)


_INFO_FIELDS = ("pk", "sku", "is_bundle", "allows_backorder", "low_stock_threshold", "merchant_id")


def _sku_match(merchant: Merchant, skus: Iterable[str], store_key: str, own: Callable[[list[str]], dict],
               aliased: Callable[[list[str], list[str]], Iterable[tuple[str, str, Any]]]) -> dict:
    """The one SKU → product rule, whatever a product is loaded as: the product's own SKU first, then a
    remembered alias, the store's own before the merchant-wide one. `own(keys)` gives {sku_key: product},
    `aliased(keys, store_keys)` (alias sku, alias store_key, product) rows."""
    wanted = sorted({sku_key(s) for s in skus} - {""})
    found = own(wanted) if wanted else {}
    rest = [k for k in wanted if k not in found]
    if not rest:
        return found
    keys = [""] if not store_key else ["", store_key]
    for sku, _store, product in sorted(aliased(rest, keys), key=lambda a: a[1] == ""):  # the store's first
        found.setdefault(sku_key(sku), product)
    return found


def _aliases(merchant: Merchant, sku_keys: list[str], store_keys: list[str]) -> QuerySet[SkuAlias]:
    """The merchant's aliases of these sku_keys remembered for these stores ("" merchant-wide): both matchers' read."""
    return (SkuAlias.objects.filter(merchant=merchant, store_key__in=store_keys).alias(sku_l=Lower("sku"))
            .filter(sku_l__in=sku_keys).order_by())


def product_match_skus(*, merchant: Merchant, skus: Iterable[str], store_key: str = "") -> dict[str, Product]:
    """{sku_key: Product} by the product's own SKU first, then by a remembered alias (SkuAlias): the alias
    of the store `store_key` before the merchant-wide one. The one SKU → product rule: how an order line's
    SKU (ingest, manual orders) and a channel listing's SKU (integrations' listing import) find their
    product; 2 queries at most, whatever the number of SKUs. Look results up by sku_key(sku)."""

    def aliased(rest: list[str], keys: list[str]) -> Iterable[tuple[str, str, Product]]:
        return [(a.sku, a.store_key, a.product) for a in _aliases(merchant, rest, keys).select_related("product")]

    return _sku_match(merchant, skus, store_key, lambda wanted: product_map_by_sku(merchant=merchant, skus=wanted),
                      aliased)


def product_match_sku_infos(*, merchant: Merchant, skus: Iterable[str], store_key: str = "") -> dict[str, ProductInfo]:
    """product_match_skus's rule, each product as a ProductInfo: for a page of orders (750 lines), where building
    Product instances cost three times the read itself, and Django's IN list of 750 quoted SKUs as much again.
    On PostgreSQL the products' own SKUs are one array parameter in binary (`lower(sku) = ANY(...)`, the
    unique index on lower(sku) and the merchant); 2 queries at most."""

    def own(wanted: list[str]) -> dict[str, ProductInfo]:
        if connection.vendor != "postgresql":
            return {k: ProductInfo.of(p) for k, p in product_map_by_sku(merchant=merchant, skus=wanted).items()}
        with bound_cursor() as cur:
            cur.execute(
                "SELECT lower(sku), id, sku, is_bundle, allows_backorder, low_stock_threshold, merchant_id "  # noqa: S608
                f"FROM {Product._meta.db_table} WHERE merchant_id = %b AND lower(sku) = ANY(%b::text[])",
                [merchant.pk, wanted])
            return {row[0]: ProductInfo(*row[1:]) for row in cur.fetchall()}

    def aliased(rest: list[str], keys: list[str]) -> Iterable[tuple[str, str, ProductInfo]]:
        rows = _aliases(merchant, rest, keys).values_list("sku", "store_key", *(f"product__{f}" for f in _INFO_FIELDS))
        return [(sku, alias_store, ProductInfo(*info)) for sku, alias_store, *info in rows]

    return _sku_match(merchant, skus, store_key, own, aliased)


def sku_alias_list(*, merchant: Merchant, product_id: int | None = None) -> QuerySet[SkuAlias]:
    """The merchant's remembered SKUs, or one product's (its page shows them)."""
    qs = SkuAlias.objects.filter(merchant=merchant)
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    return qs.select_related("product", "created_by").order_by("sku", "store_key", "id")


def sku_alias_get(*, merchant: Merchant, pk: int) -> SkuAlias:
    alias = SkuAlias.objects.filter(merchant=merchant, pk=pk).select_related("product").first()
    if alias is None:
        raise NotFound("No such SKU alias.")
    return alias


def product_resolve_skus(*, merchant: Merchant, skus: Sequence[str], store_key: str = "") -> list[Product]:
    """The merchant's product for each SKU, in the order given, or UnknownSku naming every SKU
    that is not theirs. The one way a SKU a person or client typed becomes a product (manual
    orders, mapping an order line, bundle components, stock adjustments): case-insensitive, a
    remembered alias after the products' own SKUs (product_match_skus), and
    another merchant's SKU is unknown, never a leak. details: "sku" and "index"/"row" (0- and
    1-based) of the first unknown one, "skus" all of them.
    """
    found = product_match_skus(merchant=merchant, skus=skus, store_key=store_key)
    missing = [(i, sku) for i, sku in enumerate(skus) if sku_key(sku) not in found]
    if missing:
        index, first = missing[0]
        names = list(dict.fromkeys(sku for _, sku in missing))
        raise UnknownSku(first, f"Unknown SKU: {', '.join(names)}.", skus=names, index=index, row=index + 1)
    return [found[sku_key(sku)] for sku in skus]


def location_list(*, merchant: Merchant) -> QuerySet[Location]:
    return Location.objects.filter(merchant=merchant).order_by("-is_default", "id")


def location_list_with_totals(*, merchant: Merchant) -> QuerySet[Location]:
    """Locations with units on hand and reserved summed over their levels (one query: the locations page)."""
    return location_list(merchant=merchant).annotate(
        units_on_hand=Coalesce(Sum("levels__on_hand"), Value(0)),
        units_reserved=Coalesce(Sum("levels__reserved"), Value(0)),
    )


def location_get(*, merchant: Merchant, pk: int) -> Location:
    location = Location.objects.filter(merchant=merchant, pk=pk).first()
    if location is None:
        raise LocationNotFound()
    return location


def location_default(*, merchant: Merchant) -> Location:
    location = Location.objects.filter(merchant=merchant, is_default=True).first()
    if location is None:
        raise LocationNotFound("The merchant has no default location.")
    return location


def location_map_by_code(*, merchant: Merchant) -> dict[str, Location]:
    """{code.lower(): Location} plus {name.lower(): Location} so CSV files may use either."""
    out: dict[str, Location] = {}
    for loc in location_list(merchant=merchant):
        out.setdefault(loc.name.lower(), loc)
    for loc in location_list(merchant=merchant):
        out[loc.code.lower()] = loc
    return out


def location_resolver(*, merchant: Merchant) -> Callable[[str], Location | None]:
    """The one way a client names a location: its id, its code or (for CSV files) its name, any case.

    Returns a function from such a reference to the Location (None when none matches), after one
    query, so a file or a request of many rows resolves every row without a query each.
    """
    by_ref = location_map_by_code(merchant=merchant)
    by_id = {loc.pk: loc for loc in by_ref.values()}

    def resolve(ref: str) -> Location | None:
        key = (ref or "").strip()
        if key.isascii() and key.isdigit() and int(key) in by_id:
            return by_id[int(key)]
        return by_ref.get(key.lower())

    return resolve


def _stock_available(
    merchant: Merchant, product_ids: Iterable[int], location_id: int | None = None,
    location_ids: Iterable[int] | None = None,
) -> dict[int, int]:
    levels = StockLevel.objects.filter(merchant=merchant, product_id__in=set(product_ids))
    if location_id:
        levels = levels.filter(location_id=location_id)
    if location_ids is not None:
        levels = levels.filter(location_id__in=set(location_ids))
    per_product: dict[int, list[tuple[int, int, bool]]] = defaultdict(list)
    for pid, *level in levels.values_list("product_id", "on_hand", "reserved", "allows_backorder"):
        per_product[pid].append(tuple(level))
    return {pid: units_available(rows) for pid, rows in per_product.items()}


def products_available(
    *, merchant: Merchant, product_ids: Iterable[int], location_id: int | None = None,
    location_ids: Iterable[int] | None = None,
) -> dict[int, int]:
    """Available units per product, summed over locations (or at one, or over `location_ids`: those feeding
    a store); a bundle counts whole bundles."""
    ids = set(product_ids)
    if not ids:
        return {}
    bundles: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for bid, cid, qty in BundleComponent.objects.filter(merchant=merchant, bundle_id__in=ids).values_list(
        "bundle_id", "component_id", "quantity"
    ):
        bundles[bid].append((cid, qty))
    stock = _stock_available(merchant, ids | {c for lines in bundles.values() for c, _ in lines}, location_id,
                             location_ids)
    out = {}
    for pid in ids:
        if pid in bundles:
            out[pid] = max(0, min(stock.get(c, 0) // q for c, q in bundles[pid]))
        else:
            out[pid] = stock.get(pid, 0)
    return out


def products_without_stock_history(*, merchant: Merchant, product_ids: Iterable[int]) -> set[int]:
    """The products (not bundles: their components hold the stock) that never had a stock movement nor hold
    any unit: we hold no truth for them yet, so their 0 is not pushed over a store's count (issue 14's
    52 -> 0), and a store's quantity may become their opening stock. The one rule for both."""
    ids = set(product_ids)
    if not ids:
        return set()
    moved = StockMovement.objects.filter(merchant=merchant, product_id=OuterRef("pk"))
    held = StockLevel.objects.filter(merchant=merchant, product_id=OuterRef("pk")).exclude(on_hand=0, reserved=0)
    return set(Product.objects.filter(merchant=merchant, pk__in=ids, is_bundle=False)
               .alias(moved=Exists(moved), held=Exists(held)).filter(moved=False, held=False)
               .values_list("pk", flat=True))


def product_available(*, merchant: Merchant, product_id: int) -> int:
    """Available units summed over locations; bundles computed from their components."""
    return products_available(merchant=merchant, product_ids=[product_id]).get(product_id, 0)


def stock_reserved_for(*, merchant: Merchant, reference: str) -> int:
    """Units (of the reserved product; bundles count whole bundles) held under `reference`."""
    return units_held(
        Reservation.objects.filter(merchant=merchant, reference=reference).values_list("product_id", "quantity", "per_unit")
    )


def stock_level_list(
    *, merchant: Merchant, sku: str | None = None, location_id: int | None = None, product_id: int | None = None
) -> QuerySet[StockLevel]:
    qs = StockLevel.objects.filter(merchant=merchant).select_related("product", "location")
    if sku:
        qs = qs.filter(product__sku__iexact=sku.strip())
    if location_id:
        qs = qs.filter(location_id=location_id)
    if product_id:
        qs = qs.filter(product_id=product_id)
    return qs.annotate(available_units=F("on_hand") - F("reserved")).order_by("id")


def stock_movement_list(
    *, merchant: Merchant, product_id: int | None = None, reference: str | None = None, reason: str | None = None,
    sku: str | None = None,
) -> QuerySet[StockMovement]:
    qs = StockMovement.objects.filter(merchant=merchant).select_related("product", "location", "actor")
    if product_id:
        qs = qs.filter(product_id=product_id)
    if sku:
        qs = qs.filter(product__sku__iexact=sku.strip())
    if reference:
        qs = qs.filter(reference=reference)
    if reason:
        qs = qs.filter(reason=reason)
    return qs.order_by("-id")


def _level_sum(field: str, location_id: int | None = None):
    flt = Q(merchant_id=OuterRef("merchant_id"), product_id=OuterRef("pk"))
    if location_id:
        flt &= Q(location_id=location_id)
    return Coalesce(
        Subquery(
            StockLevel.objects.filter(flt).order_by().values("product_id").annotate(s=Sum(field)).values("s")[:1]
        ),
        Value(0),
    )


STOCK_FILTERS = {"low": "Low on stock", "out": "Out of stock", "no_cost": "No cost"}


def inventory_table(
    *, merchant: Merchant, q: str = "", location_id: int | None = None, low_stock: bool = False,
    bundle: str = "", sort: str = "sku", stock: str = "",
) -> QuerySet[Product]:
    """Products annotated with on_hand/reserved/available (at one location or all), filtered and sorted.

    `stock`: "out" (nothing available, no backorders), "low" (at or under the threshold but not out:
    the two are different jobs, reorder and firefight), "no_cost" (stock held with no unit cost, so
    left out of the stock value). `low_stock=True` keeps its old meaning, at or under the threshold,
    out of stock included (the low-stock alert's list). Sorting keys always end with id so keyset
    pagination (no OFFSET) is stable.
    """
    qs = (
        Product.objects.filter(merchant=merchant)
        .annotate(
            total_on_hand=_level_sum("on_hand", location_id),
            total_reserved=_level_sum("reserved", location_id),
        )
        .annotate(total_available=F("total_on_hand") - F("total_reserved"))
    )
    if q:
        q = q.strip()
        qs = qs.filter(Q(sku__icontains=q) | Q(title__icontains=q) | Q(barcode__icontains=q))
    if bundle == "only":
        qs = qs.filter(is_bundle=True)
    elif bundle == "exclude":
        qs = qs.filter(is_bundle=False)
    if low_stock:
        qs = qs.filter(is_bundle=False, low_stock_threshold__gt=0, total_available__lte=F("low_stock_threshold"))
    if stock == "out":
        qs = qs.filter(OUT_OF_STOCK)
    elif stock == "low":
        qs = qs.filter(LOW_NOT_OUT)
    elif stock == "no_cost":
        qs = qs.filter(is_bundle=False, cost__isnull=True, total_on_hand__gt=0)
    return qs


# On an inventory_table row (its total_available annotation): bundles are judged by their components' pages.
OUT_OF_STOCK = Q(is_bundle=False, allows_backorder=False, total_available__lte=0)
LOW_NOT_OUT = Q(is_bundle=False, low_stock_threshold__gt=0, total_available__gt=0,
                total_available__lte=F("low_stock_threshold"))
COVER_DAYS = 30


def stock_flags(product: Product, available: int) -> tuple[bool, bool]:
    """(out of stock, low but not out) for one product and its units available: OUT_OF_STOCK and
    LOW_NOT_OUT for a row already loaded."""
    out = not product.is_bundle and not product.allows_backorder and available <= 0
    low = (not product.is_bundle and not out and product.low_stock_threshold > 0
           and available <= product.low_stock_threshold)
    return out, low


def inventory_summary(*, merchant: Merchant, location_id: int | None = None) -> dict[str, Any]:
    """The inventory page's figures in two queries, whatever the number of products: how many products,
    how many low and how many out of stock, and the stock value at cost (on hand × cost; stock without
    a cost is counted, not valued as zero)."""
    counts = inventory_table(merchant=merchant, location_id=location_id).aggregate(
        products=Count("pk"),
        low=Count("pk", filter=LOW_NOT_OUT),
        out=Count("pk", filter=OUT_OF_STOCK),
    )
    levels = StockLevel.objects.filter(merchant=merchant, on_hand__gt=0)
    if location_id:
        levels = levels.filter(location_id=location_id)
    value = levels.aggregate(
        value=Sum(F("on_hand") * F("product__cost"), filter=Q(product__cost__isnull=False),
                  output_field=DecimalField(max_digits=24, decimal_places=2)),
        no_cost=Count("product_id", distinct=True, filter=Q(product__cost__isnull=True)),
        no_cost_units=Sum("on_hand", filter=Q(product__cost__isnull=True)),
    )
    return {**counts, "stock_value": value["value"] or Decimal("0.00"), "no_cost": value["no_cost"],
            "no_cost_units": value["no_cost_units"] or 0, "currency": merchant.currency}


def units_shipped_per_day(*, merchant: Merchant, product_ids: Iterable[int], days: int = COVER_DAYS) -> dict[int, float]:
    """Average units shipped a day over the last `days` days, per product, from the ledger in one aggregate
    query (a bundle ships as its components: theirs is the figure)."""
    ids = set(product_ids)
    if not ids:
        return {}
    since = timezone.now() - timedelta(days=days)
    rows = (StockMovement.objects.filter(merchant=merchant, product_id__in=ids, reason=StockMovement.Reason.SHIPPED,
                                         created_at__gte=since)
            .values("product_id").annotate(units=Sum("on_hand_delta")).order_by().values_list("product_id", "units"))
    return {pid: -units / days for pid, units in rows if units and units < 0}


def margin_percent(product: Product) -> Decimal | None:
    """(price − cost) ÷ price, in percent with one decimal; None unless both are known and price > 0."""
    if product.price is None or product.cost is None or product.price <= 0:
        return None
    return ((product.price - product.cost) * 100 / product.price).quantize(Decimal("0.1"))


def days_of_cover(available: int, per_day: float | None) -> int | None:
    """Whole days the available units last at the recent rate of shipping; None when nothing shipped."""
    if not per_day:
        return None
    return max(0, int(available / per_day))


def low_stock_list(*, merchant: Merchant) -> QuerySet[Product]:
    """Stock-holding products at or under their threshold (threshold 0 means never low)."""
    return inventory_table(merchant=merchant, low_stock=True).order_by("total_available", "sku", "id")


def bundle_components(*, merchant: Merchant, bundle: Product) -> QuerySet[BundleComponent]:
    return BundleComponent.objects.filter(merchant=merchant, bundle=bundle).select_related("component").order_by("id")


def bundle_components_map(*, merchant: Merchant, bundle_ids: Iterable[int]) -> dict[int, list[dict]]:
    """{bundle_id: [{"sku", "product_id", "quantity"}, ...]} for many bundles in one query (list pages)."""
    ids = set(bundle_ids)
    out: dict[int, list[dict]] = {pk: [] for pk in ids}
    if not ids:
        return out
    rows = (BundleComponent.objects.filter(merchant=merchant, bundle_id__in=ids).order_by("id")
            .values_list("bundle_id", "component_id", "component__sku", "quantity"))
    for bid, cid, sku, qty in rows:
        out[bid].append({"sku": sku, "product_id": cid, "quantity": qty})
    return out


def bundles_containing(*, merchant: Merchant, product: Product) -> QuerySet[Product]:
    sub = BundleComponent.objects.filter(merchant=merchant, bundle_id=OuterRef("pk"), component=product)
    return Product.objects.filter(merchant=merchant).filter(Exists(sub)).order_by("sku")


def availability_pending_merchant_ids(*, consumer: str) -> list[int]:
    """Merchants with marks pending for `consumer`: the periodic fan-out that runs outside any scope."""
    with unscoped(f"beat fan-out: merchants with pending availability marks for {consumer}"):
        return sorted(
            AvailabilityMark.objects.filter(consumer=consumer).order_by().values_list("merchant_id", flat=True)
            .distinct()
        )


def audit_differences(*, merchant: Merchant) -> list[dict]:
    """Levels whose on_hand/reserved differ from the sum of their movements or from their reservations."""
    ledger = {
        (r["product_id"], r["location_id"]): (r["h"], r["r"])
        for r in StockMovement.objects.filter(merchant=merchant)
        .values("product_id", "location_id")
        .annotate(h=Sum("on_hand_delta"), r=Sum("reserved_delta"))
        .order_by()
    }
    held = {
        (r["product_id"], r["location_id"]): r["q"]
        for r in Reservation.objects.filter(merchant=merchant)
        .values("product_id", "location_id")
        .annotate(q=Sum("quantity"))
        .order_by()
    }
    out = []
    seen = set()
    for lv in StockLevel.objects.filter(merchant=merchant).select_related("product", "location").order_by("id"):
        key = (lv.product_id, lv.location_id)
        seen.add(key)
        h, r = ledger.get(key, (0, 0))
        q = held.get(key, 0)
        if (lv.on_hand, lv.reserved) != (h, r) or lv.reserved != q:
            out.append({
                "merchant_id": merchant.pk, "level_id": lv.pk, "sku": lv.product.sku, "location": lv.location.code,
                "on_hand": lv.on_hand, "ledger_on_hand": h, "reserved": lv.reserved, "ledger_reserved": r,
                "reservations": q,
            })
    for key, (h, r) in ledger.items():
        if key not in seen and (h or r):
            out.append({"merchant_id": merchant.pk, "level_id": None, "product_id": key[0], "location_id": key[1],
                        "on_hand": None, "ledger_on_hand": h, "reserved": None, "ledger_reserved": r})
    return out


def stock_alert_counts(*, merchant: Merchant) -> dict[str, int]:
    """{"out": products with nothing available (≤ 0), "low": products above 0 but at or under their
    threshold}, in one aggregate query. Out of stock is not counted as low, so the home page shows each
    product once. Only active stock-holding products count; one that may be backordered is never out."""
    qs = inventory_table(merchant=merchant, bundle="exclude").filter(is_active=True, allows_backorder=False)
    return qs.aggregate(out=Count("pk", filter=OUT_OF_STOCK), low=Count("pk", filter=LOW_NOT_OUT))


def product_suggest(*, merchant: Merchant, q: str, limit: int = 10) -> list[dict]:
    """Products for a SKU search box (manual orders): SKUs starting with `q` first, then SKUs or titles
    containing it; with price (None when unknown) and units available. A few queries, whatever the limit."""
    q = (q or "").strip()
    if not q:
        return []
    base = Product.objects.filter(merchant=merchant, is_active=True)
    first = list(base.filter(sku__istartswith=q).order_by("sku", "id")[:limit])
    more = limit - len(first)
    if more > 0:
        first += list(base.filter(Q(sku__icontains=q) | Q(title__icontains=q))
                      .exclude(pk__in=[p.pk for p in first]).order_by("sku", "id")[:more])
    available = products_available(merchant=merchant, product_ids=[p.pk for p in first])
    return [{"sku": p.sku, "title": p.title, "price": p.price, "available": min(available.get(p.pk, 0), UNLIMITED)}
            for p in first]


def has_catalog(merchant: Merchant) -> bool:
    """Setup checklist fact: the merchant has products (typed, imported from a CSV or from a store's listings)."""
    return Product.objects.filter(merchant=merchant).exists()


def has_stock(merchant: Merchant) -> bool:
    """Setup checklist fact: some product has units on hand somewhere."""
    return StockLevel.objects.filter(merchant=merchant, on_hand__gt=0).exists()


def _ids_after_prefix(references: Iterable[str]) -> dict[str, int]:
    out = {}
    for ref in references:
        tail = ref.split(":", 1)[1]
        if tail.isascii() and tail.isdigit() and 0 < int(tail) < 2**63:
            out[ref] = int(tail)
    return out


def import_reference_links(merchant: Merchant, references: list[str]) -> dict[str, ReferenceLink]:
    """Ledger references "import:<id>": the import's page (what the file was and what it changed)."""
    ids = _ids_after_prefix(references)
    names = dict(StockImport.objects.filter(merchant=merchant, pk__in=set(ids.values()))
                 .values_list("pk", "filename"))
    return {ref: ReferenceLink(label=f"Import of {names[pk]}", url=reverse("inventory-import-preview", args=[pk]))
            for ref, pk in ids.items() if pk in names}


def transfer_reference_links(merchant: Merchant, references: list[str]) -> dict[str, ReferenceLink]:
    """Ledger references "transfer:<from id>-><to id>": the two locations by code, linked to the locations
    page (a transfer is its two movements; it has no page of its own)."""
    pairs = {}
    for ref in references:
        a, _, b = ref.split(":", 1)[1].partition("->")
        if a.isascii() and a.isdigit() and b.isascii() and b.isdigit():
            pairs[ref] = (int(a), int(b))
    wanted = {i for pair in pairs.values() for i in pair if i < 2**63}
    codes = dict(Location.objects.filter(merchant=merchant, pk__in=wanted).values_list("pk", "code"))
    url = reverse("inventory-locations")
    return {ref: ReferenceLink(label=f"Transfer {codes[a]} → {codes[b]}", url=url)
            for ref, (a, b) in pairs.items() if a in codes and b in codes}
