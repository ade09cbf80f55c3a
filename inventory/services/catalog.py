"""Catalog and locations: products, bundles, locations (and the default one every merchant gets)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction

from accounts.models import Merchant, User
from core.address import address_clean
from core.errors import ValidationFailed
from core.iso_codes import COUNTRIES
from core.outbox import claim_due
from inventory.errors import InvalidStockOperation, LocationNotFound, UnknownSku
from inventory.models import AvailabilityMark, BundleComponent, Location, Product, StockLevel, StockMovement
from inventory.selectors import products_available
from inventory.services._core import ensure_levels, mark_products
from inventory.services.adjust import stock_adjust
from inventory.services.alerts import low_stock_evaluate

PRODUCT_FIELDS = (
    "title", "barcode", "price", "cost", "image_url", "supplier", "supplier_sku", "weight_grams", "length_mm",
    "width_mm", "height_mm", "customs_description", "hs_code", "origin_country", "low_stock_threshold",
    "is_active", "allows_backorder",
)
HS_CODE = re.compile(r"^[0-9]{4,10}$")


def customs_clean(fields: dict[str, Any]) -> dict[str, Any]:
    """The customs fields among `fields` tidied: the HS code written with or without dots and spaces
    ("6109.10.00"), 4 to 10 digits; the origin an ISO 3166-1 alpha-2 country. ValidationFailed names
    every bad one (details: {"fields": {field: message}})."""
    out, problems = dict(fields), {}
    if out.get("customs_description") is not None:
        out["customs_description"] = " ".join(str(out["customs_description"]).split())[:255]
    if out.get("hs_code"):
        code = str(out["hs_code"]).strip()
        if not HS_CODE.match(code.replace(".", "").replace(" ", "")):
            problems["hs_code"] = "4 to 10 digits, dots allowed (e.g. 6109.10)."
        out["hs_code"] = code
    if out.get("origin_country"):
        country = str(out["origin_country"]).strip().upper()
        if country not in COUNTRIES:
            problems["origin_country"] = "An ISO 3166-1 alpha-2 country code (e.g. US, CN, DE)."
        out["origin_country"] = country
    if problems:
        raise ValidationFailed("The customs fields are not valid.", details={"fields": problems})
    return out


BOM_LOCK = 0x1B0A  # first key of the per-merchant advisory lock around bill-of-materials changes


def _lock_bills_of_materials(merchant: Merchant) -> None:
    """Serialise a merchant's bundle-structure changes (transaction-scoped advisory lock).

    Whether a product may become a bundle depends on rows other transactions are writing (is it a
    component somewhere? is this component a bundle?), which no row lock covers. Taken first in the
    transaction, before any product or level row, so it cannot deadlock with them.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [BOM_LOCK, merchant.pk])


def _clean_sku(sku: str) -> str:
    sku = (sku or "").strip()
    if not sku:
        raise InvalidStockOperation("A SKU is required.", details={"field": "sku"})
    if len(sku) > 64:
        raise InvalidStockOperation("A SKU has at most 64 characters.", details={"field": "sku"})
    return sku


def product_create(
    *, merchant: Merchant, sku: str, title: str, components: Sequence[tuple[int, int]] | None = None,
    opening_stock: int = 0, opening_location_id: int | None = None, actor: User | None = None, **fields: Any
) -> Product:
    """Create a product (with a level at every location) or, with components, a bundle.

    `opening_stock` units are received at `opening_location_id` (the default location when None) in the
    same transaction, through the stock service: the product never exists without the stock it came with,
    and the ledger shows where that stock came from.
    """
    sku = _clean_sku(sku)
    if opening_stock and components:
        raise InvalidStockOperation("A bundle holds no stock of its own; receive its components instead.",
                                    details={"field": "opening_stock"})
    if opening_stock < 0:
        raise InvalidStockOperation("Opening stock cannot be negative.", details={"field": "opening_stock"})
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown product fields: {sorted(unknown)}")
    fields = customs_clean(fields)
    if Product.objects.filter(merchant=merchant, sku__iexact=sku).exists():
        raise InvalidStockOperation(f"SKU {sku} already exists.", code="duplicate_sku", details={"sku": sku})
    try:
        with transaction.atomic():
            if components:
                _lock_bills_of_materials(merchant)
            product = Product.objects.create(
                merchant=merchant, sku=sku, title=(title or sku).strip()[:255], is_bundle=bool(components), **fields
            )
            if components:
                _set_components(merchant=merchant, bundle=product, components=components)
            else:
                ensure_levels(merchant=merchant, product_ids=[product.pk])
            if opening_stock:
                stock_adjust(merchant=merchant, product_id=product.pk, delta=opening_stock,
                             location_id=opening_location_id, actor=actor, reason=StockMovement.Reason.RECEIVED,
                             reference=f"product:{product.pk}", note="Opening stock")
    except IntegrityError:  # a concurrent create of the same SKU won the constraint
        raise InvalidStockOperation(f"SKU {sku} already exists.", code="duplicate_sku", details={"sku": sku})
    return product


def product_update(
    *, merchant: Merchant, product: Product, components: Sequence[tuple[int, int]] | None = None, **fields: Any
) -> Product:
    """Change catalog fields and, with `components`, a bundle's bill of materials, in one transaction.

    Turning backorders off is refused while more is promised than on hand. A changed threshold is
    evaluated at once, so raising it above what is available lists the product and sends the alert.
    """
    unknown = set(fields) - set(PRODUCT_FIELDS) - {"sku"}
    if unknown:
        raise TypeError(f"Unknown product fields: {sorted(unknown)}")
    fields = customs_clean(fields)
    with transaction.atomic():
        if components is not None:
            _lock_bills_of_materials(merchant)
        # Levels before the product row: stock changes lock levels first and may then update the
        # product (low-stock state), so the same order here keeps the two from deadlocking.
        levels = list(StockLevel.objects.filter(merchant=merchant, product=product).order_by("pk")
                      .select_for_update(of=("self",)))
        product = Product.objects.select_for_update(of=("self",)).get(merchant=merchant, pk=product.pk)
        if "sku" in fields:
            sku = _clean_sku(fields.pop("sku"))
            if Product.objects.filter(merchant=merchant, sku__iexact=sku).exclude(pk=product.pk).exists():
                raise InvalidStockOperation(f"SKU {sku} already exists.", code="duplicate_sku", details={"sku": sku})
            product.sku = sku
        backorder_changed = "allows_backorder" in fields and fields["allows_backorder"] != product.allows_backorder
        threshold_changed = (
            "low_stock_threshold" in fields and fields["low_stock_threshold"] != product.low_stock_threshold
        )
        for k, v in fields.items():
            setattr(product, k, v)
        try:
            with transaction.atomic():
                product.save()
        except IntegrityError:  # a concurrent change took the SKU first
            raise InvalidStockOperation(f"SKU {product.sku} already exists.", code="duplicate_sku",
                                        details={"sku": product.sku})
        if backorder_changed and not product.is_bundle:
            if not product.allows_backorder and any(lv.reserved > lv.on_hand for lv in levels):
                raise InvalidStockOperation(
                    f"{product.sku} has more promised than on hand; receive stock before turning backorders off.",
                    details={"sku": product.sku},
                )
            StockLevel.objects.filter(merchant=merchant, product=product).update(
                allows_backorder=product.allows_backorder
            )
            mark_products(merchant=merchant, product_ids=[product.pk])
        if components is not None:
            product = bundle_set_components(merchant=merchant, bundle=product, components=components)
        if threshold_changed and not product.is_bundle:
            low_stock_evaluate(merchant=merchant,
                               available=products_available(merchant=merchant, product_ids=[product.pk]))
            product.refresh_from_db(fields=["low_stock_since", "low_stock_notified_at"])
    return product


def _set_components(*, merchant: Merchant, bundle: Product, components: Sequence[tuple[int, int]]) -> None:
    ids = [c for c, _ in components]
    if not ids:
        raise InvalidStockOperation("A bundle needs at least one component.", details={"sku": bundle.sku})
    if len(set(ids)) != len(ids):
        raise InvalidStockOperation("A component appears twice in the bundle.")
    found = {p.pk: p for p in Product.objects.filter(merchant=merchant, pk__in=ids)}
    for cid, qty in components:
        if cid not in found:
            raise UnknownSku(str(cid), f"Unknown component product id {cid}.")
        if found[cid].is_bundle or cid == bundle.pk:
            raise InvalidStockOperation(f"{found[cid].sku} is a bundle; bundles cannot contain bundles.")
        if qty <= 0:
            raise InvalidStockOperation("Component quantities must be positive.")
    BundleComponent.objects.filter(merchant=merchant, bundle=bundle).delete()
    BundleComponent.objects.bulk_create(
        [BundleComponent(merchant=merchant, bundle=bundle, component_id=cid, quantity=qty) for cid, qty in components]
    )


def bundle_set_components(*, merchant: Merchant, bundle: Product, components: Sequence[tuple[int, int]]) -> Product:
    """Replace a bundle's bill of materials ([(component_id, quantity)]). A product with stock cannot become one."""
    with transaction.atomic():
        _lock_bills_of_materials(merchant)
        bundle = Product.objects.select_for_update(of=("self",)).get(merchant=merchant, pk=bundle.pk)
        if not bundle.is_bundle:
            if StockLevel.objects.filter(merchant=merchant, product=bundle).exclude(on_hand=0, reserved=0).exists():
                raise InvalidStockOperation(f"{bundle.sku} holds stock; it cannot become a bundle.")
            if BundleComponent.objects.filter(merchant=merchant, component=bundle).exists():
                raise InvalidStockOperation(f"{bundle.sku} is a component of a bundle; it cannot become one.")
            bundle.is_bundle = True
            bundle.save(update_fields=["is_bundle", "updated_at"])
        _set_components(merchant=merchant, bundle=bundle, components=components)
        mark_products(merchant=merchant, product_ids=[bundle.pk])
    return bundle


def _clean_location(name: str, code: str) -> tuple[str, str]:
    name = (name or "").strip()
    if not name:
        raise InvalidStockOperation("A location needs a name.", details={"field": "name"})
    if len(name) > 100:
        raise InvalidStockOperation("A location name has at most 100 characters.", details={"field": "name"})
    code = (code or name).strip().upper().replace(" ", "-")[:32]
    return name, code


def _lock_locations(merchant: Merchant) -> list[Location]:
    """Lock every location of the merchant (id order): default changes and new codes are serialised."""
    return list(Location.objects.filter(merchant=merchant).order_by("pk").select_for_update(of=("self",)))


def location_create(*, merchant: Merchant, name: str, code: str = "", is_default: bool = False) -> Location:
    """A new location gets a (zero) level for every stock-holding product."""
    name, code = _clean_location(name, code)
    with transaction.atomic():
        existing = _lock_locations(merchant)
        if any(loc.code.lower() == code.lower() for loc in existing):
            raise InvalidStockOperation(f"Location code {code} already exists.", code="duplicate_location",
                                        details={"code": code})
        first = not existing
        if is_default and not first:
            Location.objects.filter(merchant=merchant, is_default=True).update(is_default=False)
        try:
            with transaction.atomic():
                location = Location.objects.create(merchant=merchant, name=name, code=code,
                                                   is_default=is_default or first)
        except IntegrityError:  # the first location of a merchant, created twice at once
            raise InvalidStockOperation(f"Location code {code} already exists.", code="duplicate_location",
                                        details={"code": code})
        product_ids = Product.objects.filter(merchant=merchant, is_bundle=False).values_list("pk", flat=True)
        ensure_levels(merchant=merchant, product_ids=list(product_ids))
    return location


def location_create_default(*, merchant: Merchant) -> Location:
    """Onboarding step (registered by InventoryConfig.ready()): every merchant starts with one location."""
    existing = Location.objects.filter(merchant=merchant, is_default=True).first()
    if existing is not None:
        return existing
    return location_create(merchant=merchant, name="Main warehouse", code="MAIN", is_default=True)


def location_update(
    *, merchant: Merchant, location: Location, name: str | None = None, code: str | None = None,
    make_default: bool = False, ship_from: dict | None = None,
) -> Location:
    """Rename a location, change its code (CSV files use it), make it the default and/or set its own
    ship-from address (all fields blank: the merchant's is used), in one transaction."""
    if ship_from is not None:
        try:
            ship_from = address_clean(ship_from)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, code=exc.code, details={"fields": {"ship_from": exc.details["address"]}})
    with transaction.atomic():
        existing = _lock_locations(merchant)
        current = next((loc for loc in existing if loc.pk == location.pk), None)
        if current is None:  # never touch the merchant's locations for someone else's
            raise LocationNotFound(details={"location_id": location.pk})
        if name is not None or code:
            new_name, new_code = _clean_location(current.name if name is None else name, code or current.code)
            if any(loc.code.lower() == new_code.lower() for loc in existing if loc.pk != current.pk):
                raise InvalidStockOperation(f"Location code {new_code} already exists.", code="duplicate_location",
                                            details={"code": new_code})
            current.name, current.code = new_name, new_code
            current.save(update_fields=["name", "code"])
        if ship_from is not None:
            current.ship_from = ship_from
            current.save(update_fields=["ship_from"])
        if make_default and not current.is_default:
            Location.objects.filter(merchant=merchant, is_default=True).update(is_default=False)
            Location.objects.filter(merchant=merchant, pk=current.pk).update(is_default=True)
            current.is_default = True
    return current


def location_set_default(*, merchant: Merchant, location: Location) -> Location:
    """Make `location` the default (reservations take from it first). Exactly one default remains."""
    return location_update(merchant=merchant, location=location, make_default=True)


def availability_take(*, merchant: Merchant, consumer: str, limit: int = 500) -> list[AvailabilityMark]:
    """Claim the oldest pending marks of one consumer (not removed: acknowledge them when done).

    Claimed through core.outbox: a second run of the same consumer meanwhile gets other marks
    (or none); marks a run took but never acknowledged come back when the lease runs out.
    """
    return claim_due(
        AvailabilityMark.objects.filter(merchant=merchant, consumer=consumer),
        limit=limit, due_field="claimed_until", order_by=("marked_at", "pk"),
    )


def availability_mark(*, merchant: Merchant, product_ids: Iterable[int]) -> None:
    """Mark products for every consumer without a stock change: a consumer that found the outside world
    differing from our truth (a channel's quantity drifted) asks for the products to be computed again."""
    mark_products(merchant=merchant, product_ids=product_ids)


def availability_ack(*, merchant: Merchant, consumer: str, marks: Sequence[AvailabilityMark]) -> int:
    """Delete the marks taken, unless re-marked since (their marked_at moved): those stay pending,
    and are released from the claim at once so the next run takes them.

    Rows being re-marked right now are skipped (SKIP LOCKED) by the delete, then released once that change
    lets go of them: they stay pending for the next run.

    Returns how many of the marks are still pending. A re-mark made while its mark was claimed asked for a
    run that may already have come and found it claimed: the consumer must run again (or that change waits
    for its periodic fan-out; a soak without beat lost one push this way).
    """
    if not marks:
        return 0
    taken = {m.pk: m.marked_at for m in marks}
    with transaction.atomic():
        current = (
            AvailabilityMark.objects.filter(merchant=merchant, consumer=consumer, pk__in=taken.keys())
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", "marked_at")
        )
        done, again = [], []
        for pk, at in current:
            (done if at == taken[pk] else again).append(pk)
        if again:
            AvailabilityMark.objects.filter(merchant=merchant, pk__in=again).update(claimed_until=None)
        if done:
            AvailabilityMark.objects.filter(merchant=merchant, pk__in=done).delete()
    skipped = sorted(set(taken) - set(done) - set(again))
    # Skipped rows are being re-marked by a stock change still open: released one row per statement (waiting
    # for that change, holding no other row, so no lock cycle), or they would stay claimed for the whole lease
    # while every later run passes them by (the soak saw three products unpushed for five minutes).
    for pk in skipped:
        AvailabilityMark.objects.filter(merchant=merchant, pk=pk).update(claimed_until=None)
    return len(taken) - len(done)
