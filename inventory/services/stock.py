"""Stock services: reserve, release, ship, return, adjust, stocktake, transfer.

Each runs in one transaction through StockTx (levels locked in id order, ledger appended,
availability marked). Quantities a caller passes for a bundle are bundles; inventory turns
them into component units with the bundle's bill of materials.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction

from accounts.models import Merchant, User
from inventory.errors import InvalidStockOperation, LocationNotFound, OutOfStock
from inventory.models import Location, Product, Reservation, StockMovement
from inventory.services._core import (
    MAX_UNITS,
    UNLIMITED,
    ProductInfo,
    StockTx,
    components_of,
    products_by_id,
)

Reason = StockMovement.Reason
REASONS = frozenset(Reason.values)


@dataclass(frozen=True)
class ReserveRequest:
    product_id: int
    quantity: int  # > 0, in units of this product (a bundle counts bundles)
    reference: str  # opaque key chosen by the caller, e.g. "order_line:123"; stored in the ledger


@dataclass(frozen=True)
class AdjustLine:
    """One adjustment: either a `delta` of on_hand or a counted `on_hand` (stocktake)."""

    product_id: int
    delta: int | None = None
    on_hand: int | None = None
    location_id: int | None = None  # the default location when None
    reason: str = Reason.ADJUSTMENT
    note: str = ""


def _check_positive(quantity: int, what: str = "quantity") -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0 or quantity > MAX_UNITS:
        raise InvalidStockOperation(f"{what} must be a whole number from 1 to {MAX_UNITS:,}.",
                                    details={what: quantity})


def _default_location_id(merchant: Merchant) -> int:
    loc = Location.objects.filter(merchant=merchant, is_default=True).values_list("pk", flat=True).first()
    if loc is None:
        raise LocationNotFound("The merchant has no default location.")
    return loc


def _location_id(merchant: Merchant, location_id: int | None) -> int:
    if location_id is None:
        return _default_location_id(merchant)
    if not Location.objects.filter(merchant=merchant, pk=location_id).exists():
        raise LocationNotFound(details={"location_id": location_id})
    return location_id


def _reservations(merchant: Merchant, references: Sequence[str]) -> dict[tuple[str, int, int], Reservation]:
    rows = Reservation.objects.filter(merchant=merchant, reference__in=set(references)).order_by("pk")
    return {(r.reference, r.product_id, r.location_id): r for r in rows}


def _save_reservations(merchant: Merchant, rows: dict[tuple[str, int, int], Reservation], dirty: set) -> None:
    """Write changed reservation rows (the levels they belong to are locked, so nobody races us)."""
    create, delete = [], []
    for key in sorted(dirty):
        r = rows[key]
        if r.pk is None:
            if r.quantity > 0:
                create.append(r)
        elif r.quantity == 0:
            delete.append(r.pk)
        else:
            Reservation.objects.filter(merchant=merchant, pk=r.pk).update(quantity=r.quantity)
    if create:
        Reservation.objects.bulk_create(create)
    if delete:
        Reservation.objects.filter(merchant=merchant, pk__in=delete).delete()


def stock_reserve(
    *, merchant: Merchant, requests: Sequence[ReserveRequest], actor: User | None = None, partial: bool = False,
    products: Mapping[int, Product] | None = None,
) -> dict[str, int]:
    """Promise units to callers (order lines) so no unit is sold twice.

    One transaction; level rows locked in id order (no deadlocks). partial=False: all or nothing,
    OutOfStock for the first line that cannot be met. partial=True: reserves min(requested,
    available) per request and never raises OutOfStock (channel orders are never refused).
    Returns {reference: units reserved by this call}. A bundle reserves its components under the
    same reference. Locations: the default first, then the others.

    `products`: the merchant's Product rows the caller already loaded in this transaction (orders has
    just matched its lines by SKU); when they cover every request, they are not read a second time.
    """
    if not requests:
        return {}
    wanted: dict[str, int] = {}
    for req in requests:
        _check_positive(req.quantity)
        if not req.reference:
            raise InvalidStockOperation("A reservation needs a reference.")
        if wanted.setdefault(req.reference, req.product_id) != req.product_id:
            raise InvalidStockOperation(
                f"Reference {req.reference!r} is used for two products.", details={"reference": req.reference}
            )
    with transaction.atomic():
        products = _known_products(merchant, [r.product_id for r in requests], products)
        bom = components_of(merchant=merchant, products=products.values())
        lines_of = _promised_lines(merchant, requests, products, bom)
        tx = StockTx.lock(merchant=merchant, product_ids=[c for lines in lines_of.values() for c, _ in lines],
                          actor=actor, known=products)
        held = _reservations(merchant, [r.reference for r in requests])
        for (ref, _pid, _loc), row in held.items():
            if row.unit_product_id != wanted[ref]:
                raise InvalidStockOperation(
                    f"Reference {ref!r} already holds another product.", details={"reference": ref}
                )
        dirty: set = set()
        result: dict[str, int] = defaultdict(int)
        for req in requests:
            product = products[req.product_id]
            lines = lines_of[req.reference]
            can = min(tx.available(cid) // per for cid, per in lines)
            units = req.quantity
            if can < units:
                if not partial:
                    raise OutOfStock(sku=product.sku, requested=req.quantity, available=max(0, can))
                units = max(0, can)
            result[req.reference] += units
            if units == 0:
                continue
            for cid, per in lines:
                left = units * per
                levels = tx.levels[cid]
                for i, lv in enumerate(levels):
                    take = left if lv.allows_backorder and i == 0 else min(left, max(0, lv.on_hand - lv.reserved))
                    if take <= 0:
                        continue
                    tx.change(lv, reserved=take, reason=Reason.RESERVED, reference=req.reference)
                    key = (req.reference, cid, lv.location_id)
                    row = held.get(key)
                    if row is None:
                        row = held[key] = Reservation(
                            merchant=merchant, reference=req.reference, unit_product_id=product.pk, per_unit=per,
                            product_id=cid, location_id=lv.location_id, quantity=0,
                        )
                    row.quantity += take
                    dirty.add(key)
                    left -= take
                    if left == 0:
                        break
                if left:  # cannot happen after the availability check; never write a half promise
                    raise InvalidStockOperation("Reservation could not be placed.", details={"product_id": cid})
        _save_reservations(merchant, held, dirty)
        tx.finish()
    return dict(result)


def _known_products(
    merchant: Merchant, ids: list[int], loaded: Mapping[int, Product] | None
) -> dict[int, ProductInfo]:
    """The ProductInfo of these ids: from the caller's already-loaded rows when they cover them all
    (and are the merchant's), else one read (which also turns a foreign id into UnknownSku)."""
    if loaded:
        found: dict[int, ProductInfo] = {}
        for pid in ids:
            p = loaded.get(pid)
            if p is None or p.pk != pid or p.merchant_id != merchant.pk:
                break
            found[pid] = ProductInfo(p.pk, p.sku, p.is_bundle, p.allows_backorder, p.low_stock_threshold)
        else:
            return found
    return products_by_id(merchant=merchant, ids=ids)


def _promised_lines(
    merchant: Merchant, requests: Sequence[ReserveRequest], products: dict, bom: dict[int, list[tuple[int, int]]]
) -> dict[str, list[tuple[int, int]]]:
    """{reference: [(stock product, per unit)]}: the bundle's components, or, when the reference already
    holds the bundle under components that have changed since, those (one reference, one bill of materials)."""
    out = {req.reference: bom[req.product_id] for req in requests}
    bundle_refs = [req.reference for req in requests if products[req.product_id].is_bundle]
    if not bundle_refs:
        return out
    promised: dict[tuple[str, int], dict[int, int]] = defaultdict(dict)
    for ref, unit_pid, pid, per in Reservation.objects.filter(
        merchant=merchant, reference__in=bundle_refs, quantity__gt=0
    ).values_list("reference", "unit_product_id", "product_id", "per_unit"):
        promised[(ref, unit_pid)][pid] = per
    for req in requests:
        held = promised.get((req.reference, req.product_id))
        if not held:
            continue  # nothing held, or another product (refused later, under the lock)
        current = dict(bom[req.product_id])
        if any(current.get(pid) != per for pid, per in held.items()):
            out[req.reference] = sorted(held.items())
    return out


def _held_units(rows: list[Reservation]) -> int:
    """Units of the reserved product (bundles: whole bundles) held by these rows."""
    per_component: dict[int, int] = defaultdict(int)
    per_unit: dict[int, int] = {}
    for r in rows:
        per_component[r.product_id] += r.quantity
        per_unit[r.product_id] = r.per_unit
    if not per_component:
        return 0
    return min(q // per_unit[pid] for pid, q in per_component.items())


def stock_release(*, merchant: Merchant, reference: str, quantity: int | None = None, actor: User | None = None) -> int:
    """Give back up to `quantity` units (all when None) held under `reference`; returns units released.

    Idempotent: releasing a reference that holds nothing returns 0 and writes nothing.
    """
    if quantity is not None and quantity <= 0:
        return 0
    with transaction.atomic():
        product_ids = set(
            Reservation.objects.filter(merchant=merchant, reference=reference).values_list("product_id", flat=True)
        )
        if not product_ids:
            return 0
        tx = StockTx.lock(merchant=merchant, product_ids=product_ids, actor=actor)
        held = _reservations(merchant, [reference])  # read again now that the levels are locked
        rows = [r for r in held.values() if r.quantity > 0]
        units_held = _held_units(rows)
        release_all = quantity is None
        units = units_held if release_all else min(quantity, units_held)
        dirty: set = set()
        # Give back the last-chosen locations first: reverse of the reservation order.
        order = {lv.location_id: i for lvls in tx.levels.values() for i, lv in enumerate(lvls)}
        by_product: dict[int, list[Reservation]] = defaultdict(list)
        for r in rows:
            by_product[r.product_id].append(r)
        for pid, prow in by_product.items():
            left = sum(r.quantity for r in prow) if release_all else units * prow[0].per_unit
            for r in sorted(prow, key=lambda r: order.get(r.location_id, 0), reverse=True):
                take = min(left, r.quantity)
                if take <= 0:
                    continue
                tx.change(tx.level_at(pid, r.location_id), reserved=-take, reason=Reason.RELEASED, reference=reference)
                r.quantity -= take
                left -= take
                dirty.add((reference, pid, r.location_id))
        _save_reservations(merchant, held, dirty)
        tx.finish()
    return units


def stock_ship(
    *, merchant: Merchant, reference: str, product_id: int, quantity: int, actor: User | None = None,
    shipment_reference: str = "",
) -> None:
    """Units leave the building: on_hand and reserved both go down.

    Consumes what is reserved under `reference` first; units beyond it come from unreserved stock,
    or OutOfStock when there is not enough.
    """
    _check_positive(quantity)
    note = shipment_reference if "shipment" in shipment_reference.lower() else (
        f"shipment {shipment_reference}" if shipment_reference else "")
    with transaction.atomic():
        products = products_by_id(merchant=merchant, ids=[product_id])
        product = products[product_id]
        lines = components_of(merchant=merchant, products=[product])[product_id]
        if product.is_bundle:
            # What was promised is what ships: a reservation made before the bundle's components
            # changed keeps its own bill of materials (otherwise those units would stay reserved).
            promised = dict(
                Reservation.objects.filter(merchant=merchant, reference=reference, unit_product_id=product_id,
                                           quantity__gt=0).values_list("product_id", "per_unit")
            )
            if any(dict(lines).get(pid) != per for pid, per in promised.items()):
                lines = sorted(promised.items())
        tx = StockTx.lock(merchant=merchant, product_ids=[c for c, _ in lines], actor=actor, known=products)
        held = _reservations(merchant, [reference])
        # First check every component can be shipped, then change anything.
        can = UNLIMITED
        for cid, per in lines:
            from_reservation = sum(
                min(r.quantity, tx.level_at(cid, r.location_id).on_hand)
                for (ref, pid, _loc), r in held.items() if pid == cid
            )
            free = sum(max(0, lv.on_hand - lv.reserved) for lv in tx.levels[cid])
            can = min(can, (from_reservation + free) // per)
        if can < quantity:
            raise OutOfStock(sku=product.sku, requested=quantity, available=can)
        dirty: set = set()
        for cid, per in lines:
            left = quantity * per
            for (_ref, pid, loc), r in sorted(held.items()):
                if pid != cid or left == 0:
                    continue
                lv = tx.level_at(cid, loc)
                take = min(left, r.quantity, lv.on_hand)
                if take > 0:
                    tx.change(lv, on_hand=-take, reserved=-take, reason=Reason.SHIPPED, reference=reference, note=note)
                    r.quantity -= take
                    left -= take
                    dirty.add((reference, cid, loc))
            for lv in tx.levels[cid]:
                if left == 0:
                    break
                take = min(left, max(0, lv.on_hand - lv.reserved))
                if take > 0:
                    tx.change(lv, on_hand=-take, reason=Reason.SHIPPED, reference=reference, note=note)
                    left -= take
        _save_reservations(merchant, held, dirty)
        tx.finish()


def stock_return(
    *, merchant: Merchant, product_id: int, quantity: int, reference: str, location_id: int | None = None,
    actor: User | None = None, restock: bool = True,
) -> None:
    """Record returned units; with restock they go back on hand at the location (default: the default one)."""
    _check_positive(quantity)
    with transaction.atomic():
        products = products_by_id(merchant=merchant, ids=[product_id])
        lines = components_of(merchant=merchant, products=products.values())[product_id]
        loc = _location_id(merchant, location_id)
        tx = StockTx.lock(merchant=merchant, product_ids=[c for c, _ in lines], actor=actor)
        for cid, per in lines:
            tx.change(
                tx.level_at(cid, loc), on_hand=quantity * per if restock else 0, reason=Reason.RETURNED,
                reference=reference, note="" if restock else f"{quantity * per} returned, not restocked",
                record_zero=True,
            )
        tx.finish()


def stock_adjust_many(
    *, merchant: Merchant, lines: Sequence[AdjustLine], actor: User | None = None, reference: str = "",
) -> int:
    """Apply many adjustments and counts all or none; returns the number of movements written.

    Row numbers in errors are 1-based positions in `lines`. A count (`on_hand`) sets the level;
    a `delta` moves it. Taking away units that are promised raises OutOfStock.
    """
    if not lines:
        return 0
    default_loc = _default_location_id(merchant)
    with transaction.atomic():
        products = products_by_id(merchant=merchant, ids=[ln.product_id for ln in lines])
        for i, ln in enumerate(lines, start=1):
            if products[ln.product_id].is_bundle:
                raise InvalidStockOperation(
                    f"Row {i}: {products[ln.product_id].sku} is a bundle; adjust its components instead.",
                    details={"row": i, "sku": products[ln.product_id].sku},
                )
            if (ln.delta is None) == (ln.on_hand is None):
                raise InvalidStockOperation(f"Row {i}: give either delta or on_hand.", details={"row": i})
            if ln.on_hand is not None and ln.on_hand < 0:
                raise InvalidStockOperation(f"Row {i}: on_hand cannot be negative.", details={"row": i})
            if abs(ln.delta or 0) > MAX_UNITS or (ln.on_hand or 0) > MAX_UNITS:
                raise InvalidStockOperation(f"Row {i}: the number is too large (at most {MAX_UNITS:,}).",
                                            details={"row": i})
            if ln.reason not in REASONS:
                raise InvalidStockOperation(f"Row {i}: unknown reason {ln.reason!r}.", details={"row": i})
        tx = StockTx.lock(merchant=merchant, product_ids=products.keys(), actor=actor, known=products)
        before = len(tx._movements)
        for i, ln in enumerate(lines, start=1):
            product = products[ln.product_id]
            lv = tx.level_at(ln.product_id, ln.location_id or default_loc)
            delta = ln.delta if ln.delta is not None else ln.on_hand - lv.on_hand
            if delta == 0:
                continue
            floor = 0 if lv.allows_backorder else lv.reserved
            if lv.on_hand + delta < floor:
                raise OutOfStock(
                    sku=product.sku, requested=-delta, available=max(0, lv.on_hand - floor),
                    message=f"Row {i}: cannot remove {-delta} of {product.sku} at {lv.location_name}; "
                    f"only {max(0, lv.on_hand - floor)} are on hand and not promised.",
                    row=i,
                )
            tx.change(lv, on_hand=delta, reason=ln.reason, reference=reference, note=ln.note)
        written = len(tx._movements) - before
        tx.finish()
    return written


def stock_adjust(
    *, merchant: Merchant, product_id: int, delta: int, location_id: int | None = None, actor: User | None = None,
    reason: str = Reason.ADJUSTMENT, reference: str = "", note: str = "",
) -> None:
    """Move on_hand by `delta` (received goods, damage, corrections)."""
    if delta == 0:
        raise InvalidStockOperation("An adjustment needs a non-zero delta.")
    if location_id is not None:
        _location_id(merchant, location_id)
    stock_adjust_many(
        merchant=merchant, actor=actor, reference=reference,
        lines=[AdjustLine(product_id=product_id, delta=delta, location_id=location_id, reason=reason, note=note)],
    )


def stock_set_count(
    *, merchant: Merchant, product_id: int, on_hand: int, location_id: int | None = None, actor: User | None = None,
    reference: str = "", note: str = "",
) -> None:
    """Stocktake: the counted number becomes on_hand; the ledger records the difference."""
    if location_id is not None:
        _location_id(merchant, location_id)
    stock_adjust_many(
        merchant=merchant, actor=actor, reference=reference,
        lines=[AdjustLine(product_id=product_id, on_hand=on_hand, location_id=location_id,
                          reason=Reason.STOCKTAKE, note=note)],
    )


def stock_transfer(
    *, merchant: Merchant, product_id: int, from_location_id: int, to_location_id: int, quantity: int,
    actor: User | None = None, reference: str = "", note: str = "",
) -> None:
    """Move unpromised units between locations (two movements, one transaction)."""
    _check_positive(quantity)
    if from_location_id == to_location_id:
        raise InvalidStockOperation("Choose two different locations.")
    _location_id(merchant, from_location_id)
    _location_id(merchant, to_location_id)
    with transaction.atomic():
        product = products_by_id(merchant=merchant, ids=[product_id])[product_id]
        if product.is_bundle:
            raise InvalidStockOperation(f"{product.sku} is a bundle; transfer its components instead.")
        tx = StockTx.lock(merchant=merchant, product_ids=[product_id], actor=actor, known={product_id: product})
        src, dst = tx.level_at(product_id, from_location_id), tx.level_at(product_id, to_location_id)
        free = max(0, src.on_hand - src.reserved)
        if quantity > free:
            raise OutOfStock(sku=product.sku, requested=quantity, available=free)
        ref = reference or f"transfer:{from_location_id}->{to_location_id}"
        tx.change(src, on_hand=-quantity, reason=Reason.TRANSFER, reference=ref, note=note)
        tx.change(dst, on_hand=quantity, reason=Reason.TRANSFER, reference=ref, note=note)
        tx.finish()

