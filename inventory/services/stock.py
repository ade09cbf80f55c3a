"""Stock services that move promised units: reserve, release, ship, return (adjust, stocktake and transfer
are inventory.services.adjust).

Each runs in one transaction through StockTx (levels locked in id order, ledger appended,
availability marked). Quantities a caller passes for a bundle are bundles; inventory turns
them into component units with the bundle's bill of materials.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from django.db import connection

from accounts.models import Merchant, User
from core.db import retry_transaction
from inventory.errors import InvalidStockOperation, OutOfStock
from inventory.models import Product, Reservation
from inventory.services._core import (
    MAX_UNITS,
    ProductInfo,
    StockTx,
    check_positive,
    components_of,
    location_checked,
    other_product_held,
    products_by_id,
    reserve_one_pg,
)
from inventory.services._steps import (
    Held,
    HeldRows,
    held_units,
    promised_bill,
    release_from,
    reservations_of,
    reserve_into,
    return_into,
    rows_of,
    save_reservations,
    ship_from,
)


@dataclass(frozen=True)
class ReserveRequest:
    product_id: int
    quantity: int  # > 0, in units of this product (a bundle counts bundles)
    reference: str  # opaque key chosen by the caller, e.g. "order_line:123"; stored in the ledger


def stock_reserve(
    *, merchant: Merchant, requests: Sequence[ReserveRequest], actor: User | None = None, partial: bool = False,
    products: Mapping[int, Product] | None = None,
) -> dict[str, int]:
    """Promise units to callers (order lines) so no unit is sold twice.

    One transaction; level rows locked in id order (no deadlocks); one reservation for a new reference with
    enough at the default location is one statement (reserve_one_pg: in autocommit, or under a savepoint inside
    a caller's transaction; it gives way to the transaction below for everything else). partial=False: all or nothing,
    OutOfStock for the first line that cannot be met. partial=True: reserves min(requested,
    available) per request and never raises OutOfStock (channel orders are never refused).
    Returns {reference: units reserved by this call}. A bundle reserves its components under the
    same reference. Locations: the default first, then the others.

    `products`: the merchant's Product rows the caller already loaded in this transaction (orders has
    just matched its lines by SKU); when they cover every request, they are not read a second time.
    """
    if len(requests) == 1 and connection.vendor == "postgresql":
        # One reservation: the common case in one statement (reserve_one_pg; inside a caller's transaction, under a
        # savepoint of its own), else the transaction below. Checked as below first, so a bad request fails the
        # same way on both.
        req = requests[0]
        check_positive(req.quantity)
        if req.reference and reserve_one_pg(merchant=merchant, product_id=req.product_id, quantity=req.quantity,
                                            reference=req.reference, actor=actor):
            return {req.reference: req.quantity}
    return _stock_reserve(merchant=merchant, requests=requests, actor=actor, partial=partial, products=products)


@retry_transaction
def _stock_reserve(
    *, merchant: Merchant, requests: Sequence[ReserveRequest], actor: User | None, partial: bool,
    products: Mapping[int, Product] | None,
) -> dict[str, int]:
    if not requests:
        return {}
    wanted: dict[str, int] = {}
    for req in requests:
        check_positive(req.quantity)
        if not req.reference:
            raise InvalidStockOperation("A reservation needs a reference.")
        if wanted.setdefault(req.reference, req.product_id) != req.product_id:
            raise InvalidStockOperation(
                f"Reference {req.reference!r} is used for two products.", details={"reference": req.reference}
            )
    tx = (StockTx.lock_plain(merchant=merchant, product_ids=wanted.values(), actor=actor)
          if connection.vendor == "postgresql" else None)
    if tx is not None:
        return _reserve_plain(tx, requests, wanted, partial)
    infos = _known_products(merchant, [r.product_id for r in requests], products)
    bom = components_of(merchant=merchant, products=infos.values())
    bundle_refs = [r.reference for r in requests if infos[r.product_id].is_bundle]
    promised = reservations_of(merchant, bundle_refs) if bundle_refs else {}
    bills = {r.reference: promised_bill(promised, bom, infos[r.product_id], r.reference) for r in requests}
    tx = StockTx.lock(merchant=merchant, product_ids=[c for bill in bills.values() for c, _ in bill],
                      actor=actor, known=infos)
    held = reservations_of(merchant, wanted)
    _holders_check(merchant, wanted, held)
    dirty: set = set()
    result: dict[str, int] = defaultdict(int)
    for req in requests:
        result[req.reference] += reserve_into(
            tx, held, dirty, reference=req.reference, product=infos[req.product_id], bill=bills[req.reference],
            units=req.quantity, partial=partial,
        )
    save_reservations(merchant, held, dirty, tx)
    tx.finish()
    return dict(result)


def _reserve_plain(tx: StockTx, requests: Sequence[ReserveRequest], wanted: dict[str, int], partial: bool,
                   ) -> dict[str, int]:
    """stock_reserve for plain products whose levels `tx` has locked with the products (one statement). The
    references' reservation rows are not read: a plain product's reference reserves more of the same product,
    so its new rows are added to any that exist, and the one write checks that no reference holds another
    product (a bundle, or a SKU matched again) before it writes anything (StockTx.finish). Two statements where
    the general road takes four: the product read, the levels' lock, the references' rows, the write."""
    held, dirty = HeldRows(), set()
    result: dict[str, int] = defaultdict(int)
    try:
        for req in requests:
            result[req.reference] += reserve_into(
                tx, held, dirty, reference=req.reference, product=tx.known[req.product_id],
                bill=[(req.product_id, 1)], units=req.quantity, partial=partial,
            )
    except OutOfStock:
        _holders_check(tx.merchant, wanted)  # the general road's error first, as it reads the references first
        raise
    if not dirty:  # nothing reserved (partial, out of stock): nothing written, so check the references here
        _holders_check(tx.merchant, wanted)
    save_reservations(tx.merchant, held, dirty, tx)
    tx.finish(holders=wanted)
    return dict(result)


def _holders_check(merchant: Merchant, wanted: Mapping[str, int], held: HeldRows | None = None) -> None:
    """InvalidStockOperation when one of these references already holds another product than it asks for;
    from their rows when the caller has read them (`held`), else read here."""
    pairs = ([(ref, row.unit_product_id) for (ref, _pid, _loc), row in held.items()] if held is not None
             else Reservation.objects.filter(merchant=merchant, reference__in=wanted)
             .values_list("reference", "unit_product_id"))
    for ref, unit_product_id in pairs:
        if unit_product_id != wanted[ref]:
            raise other_product_held(ref)


def stock_lock(*, merchant: Merchant, product_ids: Collection[int],
               products: Mapping[int, Product | ProductInfo] | None = None) -> None:
    """Lock every level of these products (a bundle: of its components) in one SELECT in id order, inside the
    caller's transaction, before a caller that makes several stock calls in it (a page of orders) makes
    them: each later call then finds its rows already locked, so the caller never waits for a level while
    holding others taken out of order. `products`: rows the caller already loaded (not read again)."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    infos = _known_products(merchant, ids, products)
    bom = components_of(merchant=merchant, products=infos.values())
    StockTx.lock(merchant=merchant, product_ids={c for bill in bom.values() for c, _ in bill}, known=infos)


def _known_products(
    merchant: Merchant, ids: list[int], loaded: Mapping[int, Product | ProductInfo] | None
) -> dict[int, ProductInfo]:
    """The ProductInfo of these ids: from the caller's already-loaded rows when they cover them all and are
    all the merchant's (a Product or a ProductInfo both say whose they are: a caller's mapping is not trusted
    to be), else one read (which also turns a foreign id into UnknownSku)."""
    if loaded:
        found: dict[int, ProductInfo] = {}
        for pid in ids:
            p = loaded.get(pid)
            if p is None or p.pk != pid or p.merchant_id != merchant.pk:
                break
            found[pid] = p if isinstance(p, ProductInfo) else ProductInfo.of(p)
        else:
            return found
    return products_by_id(merchant=merchant, ids=ids)


@retry_transaction
def stock_release(*, merchant: Merchant, reference: str, quantity: int | None = None, actor: User | None = None) -> int:
    """Give back up to `quantity` units (all when None) held under `reference`; returns units released.

    Idempotent: releasing a reference that holds nothing returns 0 and writes nothing.
    """
    if quantity is not None and quantity <= 0:
        return 0
    product_ids = set(
        Reservation.objects.filter(merchant=merchant, reference=reference).values_list("product_id", flat=True)
    )
    if not product_ids:
        return 0
    tx = StockTx.lock(merchant=merchant, product_ids=product_ids, actor=actor)
    held = reservations_of(merchant, [reference])  # read again now that the levels are locked
    tx.lock_more(pid for (_ref, pid, _loc) in held)
    dirty: set = set()
    units = release_from(tx, held, dirty, reference=reference, units=quantity)
    save_reservations(merchant, held, dirty, tx)
    tx.finish()
    return units


@dataclass(frozen=True)
class ShipRequest:
    reference: str
    product_id: int
    quantity: int  # > 0; what `reference` holds is consumed first


@dataclass(frozen=True)
class ReturnRequest:
    reference: str
    product_id: int
    quantity: int  # > 0
    restock: bool = True
    location_id: int | None = None  # the default location when None


@dataclass(frozen=True)
class HoldTarget:
    reference: str
    product_id: int | None  # None (or quantity 0): hold nothing
    quantity: int  # units `reference` should hold after the call


@dataclass
class HoldResult:
    reserved: int = 0  # units this call reserved under the reference
    released: int = 0  # units this call released (not counting what shipping consumed)
    held: int = 0  # units the reference holds afterwards


def stock_apply(
    *, merchant: Merchant, ships: Sequence[ShipRequest] = (), returns: Sequence[ReturnRequest] = (),
    holds: Sequence[HoldTarget] = (), actor: User | None = None, partial: bool = True,
    products: Mapping[int, Product | ProductInfo] | None = None, note: str = "", fresh: bool = False,
) -> dict[str, HoldResult]:
    """One caller's stock work (an order's) in one transaction under one lock: every level it needs is
    locked once, in id order, so two callers over the same products queue and never deadlock, whatever
    order their lines are in.

    Ships first (consuming each reference's reservation, then free stock; OutOfStock before anything
    changes), then returns, then brings each hold to its target by difference: the excess is released,
    what is missing reserved (partial=True: what there is; False: all or OutOfStock). A reference that
    holds another product than its target's (its SKU was matched again) gives that back first.
    Returns {reference: HoldResult} for every reference shipped or held.

    fresh=True: the caller's references are new (an order's lines inserted in this transaction), so they
    hold nothing and their reservations are not read (a caller wrong about it would double a promise: only
    for references nobody can have used before).
    """
    kwargs = {"merchant": merchant, "ships": ships, "returns": returns, "holds": holds, "actor": actor,
              "partial": partial, "products": products, "note": note, "fresh": fresh}
    if connection.in_atomic_block and connection.vendor == "postgresql":
        # Inside the caller's transaction (an order service) no savepoint of its own: on PostgreSQL every
        # write of a stock operation is its finish()'s one statement, the last thing it does, so an error
        # raised before it (OutOfStock, InvalidStockOperation) has written nothing to roll back, and a failing
        # statement aborts the caller's transaction whatever savepoint it is in. Two round trips saved.
        return _stock_apply(**kwargs)
    return _stock_apply_retrying(**kwargs)


def _stock_apply(
    *, merchant: Merchant, ships: Sequence[ShipRequest], returns: Sequence[ReturnRequest],
    holds: Sequence[HoldTarget], actor: User | None, partial: bool,
    products: Mapping[int, Product | ProductInfo] | None,
    note: str, fresh: bool,
) -> dict[str, HoldResult]:
    for s in ships:
        check_positive(s.quantity)
    for r in returns:
        check_positive(r.quantity)
    for h in holds:
        if not isinstance(h.quantity, int) or h.quantity < 0 or h.quantity > MAX_UNITS:
            raise InvalidStockOperation(f"A hold is a whole number from 0 to {MAX_UNITS:,}.",
                                        details={"reference": h.reference, "quantity": h.quantity})
    targets = [h for h in holds if h.product_id is not None and h.quantity > 0]
    references = {s.reference for s in ships} | {h.reference for h in holds}
    if not (ships or returns or references):
        return {}
    pids = {s.product_id for s in ships} | {r.product_id for r in returns} | {h.product_id for h in targets}
    infos = _known_products(merchant, sorted(pids), products) if pids else {}
    bom = components_of(merchant=merchant, products=infos.values())
    # What a reference holds decides what to lock only when it may differ from the bill of what it ships or
    # holds: a release (whatever it holds goes back) or a bundle (it keeps the bill it was promised under).
    # A plain product's reference holds that product; anything else found under the lock is locked after.
    # A reference that ships a plain product and then holds nothing (a line shipped in full) holds that product,
    # locked anyway: its rows are read once, under the lock (this replaces a second read before the lock for
    # every line a shipment empties, one statement per shipment; what else it may hold is locked after).
    plain_shipped = {s.reference for s in ships if not infos[s.product_id].is_bundle}
    unknown = {h.reference for h in holds if (h.product_id is None or h.quantity == 0)
               and h.reference not in plain_shipped} | {
        x.reference for x in [*ships, *targets] if infos[x.product_id].is_bundle}
    fresh = fresh and not ships
    before = reservations_of(merchant, unknown) if unknown and not fresh else {}

    def bills(held: Held) -> dict[tuple[str, int], list[tuple[int, int]]]:
        wanted = [(s.reference, s.product_id) for s in ships] + [(h.reference, h.product_id) for h in targets]
        return {(ref, pid): promised_bill(held, bom, infos[pid], ref) for ref, pid in wanted}

    def needed(held: Held, bill_of: dict) -> set[int]:
        return ({c for bill in bill_of.values() for c, _ in bill} | {c for r in returns for c, _ in bom[r.product_id]}
                | {pid for (_ref, pid, _loc) in held})

    tx = StockTx.lock(merchant=merchant, product_ids=needed(before, bills(before)), actor=actor, known=infos)
    # Again, now that the levels are locked.
    held = reservations_of(merchant, references) if references and not fresh else HeldRows()
    bill_of = bills(held)
    tx.lock_more(needed(held, bill_of))
    dirty: set = set()
    result: dict[str, HoldResult] = defaultdict(HoldResult)
    for s in ships:
        ship_from(tx, held, dirty, reference=s.reference, product=infos[s.product_id],
                   bill=bill_of[(s.reference, s.product_id)], quantity=s.quantity, note=note)
    for r in returns:
        return_into(tx, reference=r.reference, quantity=r.quantity, restock=r.restock, location_id=r.location_id,
                     bill=bom[r.product_id])
    for h in holds:
        out = result[h.reference]
        if h.product_id is None or h.quantity == 0 or any(
            row.unit_product_id != h.product_id for row in rows_of(held, h.reference)
        ):
            out.released += release_from(tx, held, dirty, reference=h.reference, units=None)
        current = held_units(held, h.reference)
        if current > h.quantity:
            out.released += release_from(tx, held, dirty, reference=h.reference, units=current - h.quantity)
        elif current < h.quantity:
            out.reserved += reserve_into(
                tx, held, dirty, reference=h.reference, product=infos[h.product_id],
                bill=bill_of[(h.reference, h.product_id)], units=h.quantity - current, partial=partial,
            )
    for reference in references:
        result[reference].held = held_units(held, reference)
    save_reservations(merchant, held, dirty, tx)
    tx.finish()
    return dict(result)


_stock_apply_retrying = retry_transaction(_stock_apply)


def stock_ship(
    *, merchant: Merchant, reference: str, product_id: int, quantity: int, actor: User | None = None,
    shipment_reference: str = "",
) -> None:
    """Units leave the building: on_hand and reserved both go down.

    Consumes what is reserved under `reference` first; units beyond it come from unreserved stock,
    or OutOfStock when there is not enough.
    """
    stock_apply(merchant=merchant, actor=actor, note=_shipment_note(shipment_reference),
                ships=[ShipRequest(reference=reference, product_id=product_id, quantity=quantity)])


def _shipment_note(shipment_reference: str) -> str:
    if "shipment" in shipment_reference.lower():
        return shipment_reference
    return f"shipment {shipment_reference}" if shipment_reference else ""


def stock_return(
    *, merchant: Merchant, product_id: int, quantity: int, reference: str, location_id: int | None = None,
    actor: User | None = None, restock: bool = True,
) -> None:
    """Record returned units; with restock they go back on hand at the location (default: the default one)."""
    check_positive(quantity)
    if location_id is not None:
        location_checked(merchant, location_id)
    stock_apply(merchant=merchant, actor=actor, returns=[ReturnRequest(
        reference=reference, product_id=product_id, quantity=quantity, restock=restock, location_id=location_id)])
