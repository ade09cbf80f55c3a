"""The steps every stock service is made of, on levels already locked by a StockTx: reserve into,
release from, ship from, return into, and the reservation rows they read and write.

A public service (stock.py) locks once, reads the reservations of its references once, runs any
number of steps, then saves the rows and finishes the StockTx: one idea, one piece of code, however
the services combine them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from accounts.models import Merchant
from inventory.errors import InvalidStockOperation, LocationNotFound, OutOfStock
from inventory.models import Reservation, StockMovement
from inventory.selectors import UNLIMITED, units_held
from inventory.services._core import ProductInfo, StockTx

Reason = StockMovement.Reason



@dataclass(slots=True)
class NewReservation:
    """A reservation row made in this transaction, not written yet: the attributes of a Reservation the steps
    read and save_reservations writes, without a model instance (a page of orders makes 750 of them, and
    Django's keyword __init__ cost more than the rest of the reservation's Python)."""

    merchant_id: int
    reference: str
    unit_product_id: int
    per_unit: int
    product_id: int
    location_id: int
    quantity: int
    pk: None = None

    def saved(self) -> Reservation:
        return Reservation(merchant_id=self.merchant_id, reference=self.reference,
                           unit_product_id=self.unit_product_id, per_unit=self.per_unit, product_id=self.product_id,
                           location_id=self.location_id, quantity=self.quantity)


# (reference, stock product, location) -> row, as locked (a NewReservation for a row made here)
Held = dict[tuple[str, int, int], Reservation | NewReservation]


class HeldRows(dict):
    """Held, indexed by reference as rows are added: a page of orders asks for hundreds of references, and
    scanning (and sorting) every row for each of them made a page's reconcile quadratic."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()
        self.by_ref: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for key, row in dict(*args, **kwargs).items():
            self[key] = row

    def __setitem__(self, key: tuple[str, int, int], row: Reservation) -> None:
        if key not in self:
            self.by_ref[key[0]].append(key)
        super().__setitem__(key, row)


def reservations_of(merchant: Merchant, references: Iterable[str]) -> Held:
    rows = Reservation.objects.filter(merchant=merchant, reference__in=set(references)).order_by("pk")
    return HeldRows({(r.reference, r.product_id, r.location_id): r for r in rows})


def rows_of(held: Held, reference: str) -> list[Reservation]:
    if isinstance(held, HeldRows):
        return [held[key] for key in sorted(held.by_ref.get(reference, ())) if held[key].quantity > 0]
    return [r for (ref, _pid, _loc), r in sorted(held.items()) if ref == reference and r.quantity > 0]


def held_units(held: Held, reference: str) -> int:
    return units_held((r.product_id, r.quantity, r.per_unit) for r in rows_of(held, reference))


def save_reservations(merchant: Merchant, rows: Held, dirty: set, tx: StockTx | None = None) -> None:
    """Write changed reservation rows (the levels they belong to are locked, so nobody races us):
    one INSERT, one UPDATE and one DELETE at most, however many rows changed. With `tx` on PostgreSQL
    nothing is sent now: the rows go out in tx.finish()'s one statement with the levels, the ledger and
    the outbox marks."""
    create, update, delete = [], [], []
    for key in sorted(dirty):
        r = rows[key]
        if r.pk is None:
            if r.quantity > 0:
                create.append(r)
        elif r.quantity == 0:
            delete.append(r.pk)
        else:
            update.append(r)
    if tx is not None and connection.vendor == "postgresql":
        tx.stage_reservations(create=create, update=update, delete=delete)
        return
    if create:
        Reservation.objects.bulk_create([r.saved() for r in create])
    if update and connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {Reservation._meta.db_table} AS r SET quantity = v.q "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::int[]) AS v(id, q) WHERE r.id = v.id AND r.merchant_id = %s",
                [[r.pk for r in update], [r.quantity for r in update], merchant.pk],
            )
    elif update:
        Reservation.objects.bulk_update(update, ["quantity"])
    if delete:
        Reservation.objects.filter(merchant=merchant, pk__in=delete).delete()


def promised_bill(held: Held, bom: dict[int, list[tuple[int, int]]], product: ProductInfo, reference: str) -> list[tuple[int, int]]:
    """What one unit of `product` under `reference` is made of: its bill of materials, or, when the reference
    already holds the bundle under components that have changed since, what was promised (one reference, one
    bill: what was promised is what ships or goes back)."""
    current = bom[product.pk]
    if not product.is_bundle:
        return current
    promised = {r.product_id: r.per_unit for r in rows_of(held, reference) if r.unit_product_id == product.pk}
    if promised and any(dict(current).get(pid) != per for pid, per in promised.items()):
        return sorted(promised.items())
    return current


def reserve_into(
    tx: StockTx, held: Held, dirty: set, *, reference: str, product: ProductInfo, bill: list[tuple[int, int]],
    units: int, partial: bool,
) -> int:
    """Reserve `units` (fewer when partial and short; OutOfStock otherwise); default location first."""
    can = min(tx.available(cid) // per for cid, per in bill)
    if can < units:
        if not partial:
            raise OutOfStock(sku=product.sku, requested=units, available=max(0, can))
        units = max(0, can)
    if units == 0:
        return 0
    for cid, per in bill:
        left = units * per
        for i, lv in enumerate(tx.levels[cid]):
            take = left if lv.allows_backorder and i == 0 else min(left, max(0, lv.on_hand - lv.reserved))
            if take <= 0:
                continue
            tx.change(lv, reserved=take, reason=Reason.RESERVED, reference=reference)
            key = (reference, cid, lv.location_id)
            row = held.get(key)
            if row is None:
                row = held[key] = NewReservation(tx.merchant.pk, reference, product.pk, per, cid, lv.location_id, 0)
            row.quantity += take
            dirty.add(key)
            left -= take
            if left == 0:
                break
        if left:  # cannot happen after the availability check; never write a half promise
            raise InvalidStockOperation("Reservation could not be placed.", details={"product_id": cid})
    return units


def release_from(tx: StockTx, held: Held, dirty: set, *, reference: str, units: int | None,
                 first_location: int | None = None) -> int:
    """Give back up to `units` (all when None) held under `reference`, last-chosen locations first
    (`first_location` before them all: a stocktake frees the location it counted)."""
    rows = rows_of(held, reference)
    units_now = units_held((r.product_id, r.quantity, r.per_unit) for r in rows)
    release_all = units is None
    count = units_now if release_all else min(units, units_now)
    order = {lv.location_id: i for lvls in tx.levels.values() for i, lv in enumerate(lvls)}
    by_product: dict[int, list[Reservation]] = defaultdict(list)
    for r in rows:
        by_product[r.product_id].append(r)
    for pid, prow in by_product.items():
        left = sum(r.quantity for r in prow) if release_all else count * prow[0].per_unit
        for r in sorted(prow, key=lambda r: (r.location_id == first_location, order.get(r.location_id, 0)),
                        reverse=True):
            take = min(left, r.quantity)
            if take <= 0:
                continue
            tx.change(tx.level_at(pid, r.location_id), reserved=-take, reason=Reason.RELEASED, reference=reference)
            r.quantity -= take
            left -= take
            dirty.add((reference, pid, r.location_id))
    return count


def ship_from(
    tx: StockTx, held: Held, dirty: set, *, reference: str, product: ProductInfo, bill: list[tuple[int, int]],
    quantity: int, note: str,
) -> None:
    """Units leave: what `reference` holds first, then unreserved stock; OutOfStock before changing anything."""
    mine = [(key, r) for key, r in sorted(held.items()) if key[0] == reference]
    can = UNLIMITED
    for cid, per in bill:
        from_reservation = sum(min(r.quantity, tx.level_at(cid, loc).on_hand) for (_ref, pid, loc), r in mine
                               if pid == cid)
        free = sum(max(0, lv.on_hand - lv.reserved) for lv in tx.levels[cid])
        can = min(can, (from_reservation + free) // per)
    if can < quantity:
        raise OutOfStock(sku=product.sku, requested=quantity, available=can)
    for cid, per in bill:
        left = quantity * per
        for (_ref, pid, loc), r in mine:
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


def return_into(tx: StockTx, *, reference: str, quantity: int, restock: bool, location_id: int | None,
                 bill: list[tuple[int, int]]) -> None:
    """Returned units go back on hand at the location (the default one when None), or are only recorded."""
    for cid, per in bill:
        if location_id is not None:
            lv = tx.level_at(cid, location_id)
        else:
            lv = next((lv for lv in tx.levels[cid] if lv.location_is_default), None)
            if lv is None:
                raise LocationNotFound("The merchant has no default location.")
        units = quantity * per
        tx.change(lv, on_hand=units if restock else 0, reason=Reason.RETURNED, reference=reference,
                  note="" if restock else f"{units} returned, not restocked", record_zero=True)
