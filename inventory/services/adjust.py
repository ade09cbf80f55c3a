"""Stock services that change what is on hand: adjust, stocktake (a count), transfer.

Each runs in one transaction through StockTx (levels locked in id order, ledger appended, availability
marked). A count below what is reserved releases the newest reservations to fit and tells their holders
(inventory.registry.reservation_holders) in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, transaction
from django.utils.translation import ngettext

from accounts.models import Merchant, User
from accounts.services.audit import audit_record
from core.db import is_lock_not_available, retry_transaction
from core.errors import TransientConflict
from inventory.errors import InvalidStockOperation, OutOfStock
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.registry import reservation_holder_for, reservation_holders
from inventory.services._core import (
    MAX_UNITS,
    ProductInfo,
    StockTx,
    check_positive,
    default_location_id,
    location_checked,
    products_by_id,
)
from inventory.services._steps import Held, held_units, release_from, reservations_of, save_reservations

Reason = StockMovement.Reason
REASONS = frozenset(Reason.values)
# What a person may give as the reason of a change, and which way each moves stock (correction: either).
ADJUST_REASONS = (Reason.RECEIVED, Reason.DAMAGED, Reason.LOST, Reason.FOUND, Reason.RETURNED, Reason.CORRECTION)
REASON_SIGN = {Reason.RECEIVED: 1, Reason.FOUND: 1, Reason.RETURNED: 1, Reason.DAMAGED: -1, Reason.LOST: -1}
LEGACY_REASONS = {"adjustment": Reason.CORRECTION}  # before reasons said what happened


@dataclass(frozen=True)
class AdjustLine:
    """One adjustment: either a `delta` of on_hand or a counted `on_hand` (stocktake)."""

    product_id: int
    delta: int | None = None
    on_hand: int | None = None
    location_id: int | None = None  # the default location when None
    reason: str = ""  # blank: a count is a stocktake, a change follows its sign (adjust_reason_default)
    note: str = ""


def adjust_reason_default(delta: int) -> str:
    """The reason a change gets when none is given: units coming in were received; units going out are a
    correction until someone says they were damaged or lost."""
    return Reason.RECEIVED if delta > 0 else Reason.CORRECTION


def _row(i: int | None, text: str) -> str:
    """An error about one line: "Row 3: ..." when the lines are a list the merchant sent (a CSV, the API's
    list), the sentence alone for one product's adjustment (i None), where a row number means nothing."""
    return f"Row {i}: {text}" if i is not None else text[:1].upper() + text[1:]


def _at(i: int | None) -> dict[str, int]:
    return {"row": i} if i is not None else {}


def _adjust_reason(i: int | None, ln: AdjustLine) -> str:
    if ln.on_hand is not None:
        reason = ln.reason or Reason.STOCKTAKE
    else:
        reason = LEGACY_REASONS.get(ln.reason, ln.reason) or adjust_reason_default(ln.delta or 0)
    if reason not in REASONS:
        raise InvalidStockOperation(_row(i, f"unknown reason {ln.reason!r}."), details=_at(i))
    sign = REASON_SIGN.get(reason)
    if ln.delta is not None and sign is not None and (ln.delta > 0) != (sign > 0):
        label = Reason(reason).label.lower()
        raise InvalidStockOperation(
            _row(i, f"{label} {'adds' if sign > 0 else 'removes'} units; give a "
                    f"{'positive' if sign > 0 else 'negative'} quantity or another reason."),
            details={**_at(i), "reason": reason},
        )
    return reason


AUDIT_LEVELS_MAX = 200  # an import of 50,000 rows is one audit event naming its first 200 levels, not 50,000
COUNT_ATTEMPTS = 5  # a count starts again at most this often when holders move under it (see _adjust_many)


class _HoldersMoved(Exception):
    """Under the level lock a count found reservations whose holders it could not lock without waiting
    (someone else holds them), or of products whose levels it has not locked. It never waits for a lock
    while holding levels: it gives back every lock it took and starts again, locking these first."""

    def __init__(self, references: set[str], levels: set[tuple[int, int]]):
        super().__init__("reservations of unlocked holders at a counted level")
        self.references = references
        self.levels = levels


def _count_holders(
    merchant: Merchant, lines: Sequence[AdjustLine], default_loc: int, *,
    levels: set[tuple[int, int]], references: set[str],
) -> set[str]:
    """Before any lock: the references holding stock at levels a count may take below what they hold (read
    without locks, so the holders can lock their own rows first; checked again under the lock), plus the
    levels and references an earlier attempt of this count found below under the lock."""
    counts = {(ln.product_id, ln.location_id or default_loc): ln.on_hand for ln in lines if ln.on_hand is not None}
    if not counts:
        return set(references)
    below = {
        (pid, loc) for pid, loc, reserved in StockLevel.objects.filter(
            merchant=merchant, product_id__in={p for p, _ in counts}, reserved__gt=0, allows_backorder=False,
        ).values_list("product_id", "location_id", "reserved")
        if (pid, loc) in counts and counts[(pid, loc)] < reserved
    }
    return _references_at(merchant, below | levels) | references


def _references_at(merchant: Merchant, pairs: Iterable[tuple[int, int]]) -> set[str]:
    """The references holding stock at these (product, location) levels, in one query."""
    wanted = set(pairs)
    if not wanted:
        return set()
    rows = Reservation.objects.filter(
        merchant=merchant, product_id__in={p for p, _ in wanted}, location_id__in={loc for _, loc in wanted},
        quantity__gt=0,
    ).values_list("product_id", "location_id", "reference")
    return {ref for pid, loc, ref in rows if (pid, loc) in wanted}


def _holders_lock(merchant: Merchant, references: Iterable[str], promised: dict[str, Any], *,
                  nowait: bool = False) -> None:
    """Let each app that owns some of these references lock its rows; remember when each was promised.
    nowait=True (levels are locked already): a holder's row locked by someone else raises lock_not_available."""
    by_holder: dict[str, list[str]] = defaultdict(list)
    for ref in sorted(set(references) - promised.keys()):
        holder = reservation_holder_for(ref)
        promised[ref] = None
        if holder is not None:
            by_holder[holder.prefix].append(ref)
    for prefix, refs in by_holder.items():
        holder = next(h for h in reservation_holders.values() if h.prefix == prefix)
        promised.update(holder.lock(merchant, refs, nowait=True) if nowait else holder.lock(merchant, refs))


def _release_to_fit(tx: StockTx, held: Held, dirty: set, promised: dict[str, Any], *, level, count: int) -> set[str]:
    """Free reservations at a level until they fit the count, newest promise first; returns the references."""
    at_level = [r for (_ref, pid, loc), r in held.items()
                if pid == level.product_id and loc == level.location_id and r.quantity > 0]
    # Newest first: by when the holder says it was promised; references nobody claims before all of them.
    at_level.sort(key=lambda r: (promised.get(r.reference) is None, promised.get(r.reference) or 0, r.pk or 0),
                  reverse=True)
    hit = set()
    for row in at_level:
        need = level.reserved - count
        if need <= 0:
            break
        units = -(-min(need, row.quantity) // row.per_unit)
        release_from(tx, held, dirty, reference=row.reference, units=units, first_location=level.location_id)
        hit.add(row.reference)
    return hit


def stock_adjust_many(
    *, merchant: Merchant, lines: Sequence[AdjustLine], actor: User | None = None, reference: str = "",
    audit_action: str = "",
) -> int:
    """Apply many adjustments and counts all or none; returns the number of adjustments written (the
    releases a count below what is reserved makes are not counted). See `_adjust_many`. `audit_action`
    names the act in the audit trail ("stock.imported"); by default stock.counted or stock.adjusted."""
    return _adjust_many(merchant=merchant, lines=lines, actor=actor, reference=reference,
                        audit_action=audit_action)[0]


@retry_transaction
def _adjust_many(
    *, merchant: Merchant, lines: Sequence[AdjustLine], actor: User | None = None, reference: str = "",
    audit_action: str = "", numbered: bool = True,
) -> tuple[int, int]:
    """Apply many adjustments and counts all or none; returns (adjustments written, reserved units released).

    Row numbers in errors are 1-based positions in `lines` (none when not `numbered`: one product's own
    adjustment or count, where "Row 1" would point at a row the merchant never saw). A `delta` moves a level; taking away units
    that are promised raises OutOfStock. A count (`on_hand`) sets the level: a count is a fact, so one
    below what is reserved there is recorded too, and the newest reservations are released to fit
    (their holders, orders, are told in this transaction and go short; the allocator refills them when
    stock arrives).

    One lock order, as in every stock call: the holders' rows (orders, in id order), then the levels (in
    id order), never a holder after a level. Which holders a count needs is read before the lock, so a
    reservation made in between (an order arriving, the allocator topping one up) belongs to a holder not
    locked yet: waiting for its lock while holding the levels would deadlock with whoever holds that
    order and waits for the levels (the allocator topping it up, another count). So that late lock never
    waits (NOWAIT): free, it is taken; held by someone, the attempt (a savepoint) rolls back, giving back
    every lock it took, and starts again with those references and levels read first, at most
    COUNT_ATTEMPTS times (then TransientConflict, a 503).
    """
    if not lines:
        return 0, 0
    default_loc = default_location_id(merchant)
    products = products_by_id(merchant=merchant, ids=[ln.product_id for ln in lines])
    reasons = []
    for i, ln in enumerate(lines, start=1):
        n = i if numbered else None
        if products[ln.product_id].is_bundle:
            raise InvalidStockOperation(
                _row(n, f"{products[ln.product_id].sku} is a bundle; adjust its components instead."),
                details={**_at(n), "sku": products[ln.product_id].sku},
            )
        if (ln.delta is None) == (ln.on_hand is None):
            raise InvalidStockOperation(_row(n, "give either delta or on_hand."), details=_at(n))
        if ln.on_hand is not None and ln.on_hand < 0:
            raise InvalidStockOperation(_row(n, "on_hand cannot be negative."), details=_at(n))
        if abs(ln.delta or 0) > MAX_UNITS or (ln.on_hand or 0) > MAX_UNITS:
            raise InvalidStockOperation(_row(n, f"the number is too large (at most {MAX_UNITS:,})."),
                                        details=_at(n))
        reasons.append(_adjust_reason(n, ln))
    step = dict(merchant=merchant, lines=lines, products=products, reasons=reasons, default_loc=default_loc,
                actor=actor, reference=reference, numbered=numbered,
                audit_action=audit_action or ("stock.adjusted" if all(ln.on_hand is None for ln in lines)
                                              else "stock.counted"))
    if all(ln.on_hand is None for ln in lines):  # no count: no reservation is released, no holder is locked
        return _adjust_locked(**step, references=set(), levels=set())
    references: set[str] = set()
    levels: set[tuple[int, int]] = set()
    for _attempt in range(COUNT_ATTEMPTS):
        try:
            with transaction.atomic():  # a savepoint: leaving it by _HoldersMoved gives back its row locks
                return _adjust_locked(**step, references=references, levels=levels)
        except _HoldersMoved as moved:
            references |= moved.references
            levels |= moved.levels
    raise TransientConflict(details={"attempts": COUNT_ATTEMPTS})


def _adjust_locked(
    *, merchant: Merchant, lines: Sequence[AdjustLine], products: dict[int, ProductInfo], reasons: list[str],
    default_loc: int, actor: User | None, reference: str, references: set[str], levels: set[tuple[int, int]],
    audit_action: str, numbered: bool,
) -> tuple[int, int]:
    """One attempt of `_adjust_many`, its lines checked: lock the holders, then the levels, then apply.
    Raises _HoldersMoved, before writing anything, when a count finds a holder it has not locked."""
    refs = _count_holders(merchant, lines, default_loc, levels=levels, references=references)
    held = reservations_of(merchant, refs) if refs else {}
    promised: dict[str, Any] = {}
    _holders_lock(merchant, refs, promised)
    tx = StockTx.lock(merchant=merchant, product_ids={*products.keys(), *(pid for _r, pid, _l in held)}, actor=actor,
                      known=products)
    written = released = 0
    dirty: set = set()
    hit: set[str] = set()
    moved: dict[str, dict[str, int]] = {}
    below = {(lv.product_id, lv.location_id) for ln in lines if ln.on_hand is not None
             for lv in [tx.level_at(ln.product_id, ln.location_id or default_loc)]
             if not lv.allows_backorder and ln.on_hand < lv.reserved}
    if below:
        # Under the lock: what is held there now, every row read again. A holder not locked yet (its
        # reservation was made since the first read) is locked only if nobody holds it (waiting here, with
        # the levels held, could deadlock); a product whose level is not locked (a bundle's other
        # components) would be a level locked out of id order. Either way: start again, them read first.
        now = _references_at(merchant, below) | refs
        try:
            _holders_lock(merchant, now, promised, nowait=True)
        except DatabaseError as exc:
            if not is_lock_not_available(exc):
                raise
            raise _HoldersMoved(now, below) from exc
        held = reservations_of(merchant, now)
        if {pid for _r, pid, _l in held} - tx.levels.keys():
            raise _HoldersMoved(now, below)
    for i, ln in enumerate(lines, start=1):
        product = products[ln.product_id]
        lv = tx.level_at(ln.product_id, ln.location_id or default_loc)
        if (lv.product_id, lv.location_id) in below and ln.on_hand < lv.reserved:
            reserved_before = lv.reserved
            hit |= _release_to_fit(tx, held, dirty, promised, level=lv, count=ln.on_hand)
            released += reserved_before - lv.reserved
        delta = ln.delta if ln.delta is not None else ln.on_hand - lv.on_hand
        if delta == 0:
            continue
        floor = 0 if lv.allows_backorder else lv.reserved
        if lv.on_hand + delta < floor:
            raise OutOfStock(
                sku=product.sku, requested=-delta, available=max(0, lv.on_hand - floor),
                message=_row(i if numbered else None, f"cannot remove {-delta} of {product.sku} at "
                             f"{lv.location_name}; only {max(0, lv.on_hand - floor)} are on hand and not promised."),
                **({"row": i} if numbered else {}),
            )
        where = f"{product.sku} @ {lv.location_name}"
        moved[where] = {"old": moved.get(where, {}).get("old", lv.on_hand), "new": lv.on_hand + delta}
        tx.change(lv, on_hand=delta, reason=reasons[i - 1], reference=reference, note=ln.note)
        written += 1
    if hit:
        save_reservations(merchant, held, dirty)
        _holders_tell(merchant, held, hit)
    if moved:
        audit_record(merchant=merchant, action=audit_action, actor=actor, object_type="inventory.StockLevel",
                     object_repr=reference or ngettext("%(n)s stock level", "%(n)s stock levels", len(moved)) % {"n": len(moved)},
                     changes=dict(list(moved.items())[:AUDIT_LEVELS_MAX]))
    tx.finish()
    return written, released


def _holders_tell(merchant: Merchant, held: Held, references: set[str]) -> None:
    """In the same transaction: each holder hears what its references still hold."""
    by_holder: dict[str, dict[str, int]] = defaultdict(dict)
    for ref in references:
        holder = reservation_holder_for(ref)
        if holder is not None:
            by_holder[holder.prefix][ref] = held_units(held, ref)
    for prefix, still in by_holder.items():
        next(h for h in reservation_holders.values() if h.prefix == prefix).released(merchant, still)


def stock_adjust(
    *, merchant: Merchant, product_id: int, delta: int, location_id: int | None = None, actor: User | None = None,
    reason: str = "", reference: str = "", note: str = "",
) -> None:
    """Move on_hand by `delta` (received goods, damage, corrections); no reason: by the sign of `delta`."""
    if delta == 0:
        raise InvalidStockOperation("An adjustment needs a non-zero delta.")
    if location_id is not None:
        location_checked(merchant, location_id)
    _adjust_many(
        merchant=merchant, actor=actor, reference=reference, numbered=False,
        lines=[AdjustLine(product_id=product_id, delta=delta, location_id=location_id, reason=reason, note=note)],
    )


def stock_set_count(
    *, merchant: Merchant, product_id: int, on_hand: int, location_id: int | None = None, actor: User | None = None,
    reference: str = "", note: str = "",
) -> int:
    """Stocktake: the counted number becomes on_hand; the ledger records the difference. Returns the
    reserved units released because the count was below them (their orders are short now)."""
    if location_id is not None:
        location_checked(merchant, location_id)
    return _adjust_many(
        merchant=merchant, actor=actor, reference=reference, numbered=False,
        lines=[AdjustLine(product_id=product_id, on_hand=on_hand, location_id=location_id,
                          reason=Reason.STOCKTAKE, note=note)],
    )[1]


@retry_transaction
def stock_transfer(
    *, merchant: Merchant, product_id: int, from_location_id: int, to_location_id: int, quantity: int,
    actor: User | None = None, reference: str = "", note: str = "",
) -> None:
    """Move unpromised units between locations (two movements, one transaction)."""
    check_positive(quantity)
    if from_location_id == to_location_id:
        raise InvalidStockOperation("Choose two different locations.")
    location_checked(merchant, from_location_id)
    location_checked(merchant, to_location_id)
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

