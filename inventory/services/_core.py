"""The one place that writes stock levels: lock, change, append to the ledger, mark the outbox.

Every public stock service opens a `StockTx` inside its own `transaction.atomic`. The transaction
locks all level rows of the products it may touch in a single `SELECT ... ORDER BY id FOR UPDATE`,
so two operations over the same products always lock in the same order and can never deadlock
(A,B against B,A simply queue). Changes are checked in Python against the locked rows, then
written with `F()` deltas; the database CHECK constraints are the last line of defence.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Merchant, User
from core.db import binary_placeholders, bound_cursor, has_sqlstate, is_retryable
from inventory.errors import InvalidStockOperation, LocationNotFound, UnknownSku
from inventory.models import (
    AvailabilityMark,
    BundleComponent,
    Location,
    Product,
    Reservation,
    StockLevel,
    StockMovement,
)
from inventory.registry import availability_consumers
from inventory.selectors import ProductInfo, units_available
from inventory.services.alerts import low_stock_evaluate

logger = logging.getLogger(__name__)

UNIQUE_VIOLATION = frozenset({"23505"})
MAX_UNITS = 2_147_483_647  # a PostgreSQL integer column: no level, delta or count may go beyond it

# Above this many changed levels, PostgreSQL gets one UPDATE ... FROM unnest() instead of one UPDATE per level
# (the rows are already locked, so one statement changes nothing but the round trips: an order ingest touches ~3).
BULK_SQL_THRESHOLD = 1


# The availability marks' upsert on a mark that exists: its marked_at moves only when a consumer has claimed it
# (catalog.availability_ack then keeps it pending, as the change came after what the consumer took). A mark that
# is pending and unclaimed stays as it is: whoever claims it reads availability after this change commits (the
# upsert locks the row all the same, so a claim waits for it or skips it), and rewriting it was a new tuple and
# index entries per stock change for nothing (the hot product's mark, once per reservation).
MARK_CONFLICT = ("ON CONFLICT (merchant_id, consumer, product_id) DO UPDATE SET marked_at = EXCLUDED.marked_at "
                 f"WHERE {AvailabilityMark._meta.db_table}.claimed_until IS NOT NULL")


def consumers() -> list[str]:
    """The registered availability consumers (inventory.registry): only they get marks."""
    return availability_consumers.keys()


@dataclass(slots=True)
class Level:
    """A locked stock level row, as plain values."""

    pk: int
    product_id: int
    location_id: int
    on_hand: int
    reserved: int
    allows_backorder: bool
    location_is_default: bool
    location_name: str

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def products_by_id(*, merchant: Merchant, ids: Iterable[int]) -> dict[int, ProductInfo]:
    """Load the merchant's products; an id that is not theirs is an UnknownSku (never a leak)."""
    wanted = set(ids)
    rows = Product.objects.filter(merchant=merchant, pk__in=wanted).values_list(
        "pk", "sku", "is_bundle", "allows_backorder", "low_stock_threshold"
    )
    found = {r[0]: ProductInfo(*r) for r in rows}
    missing = wanted - found.keys()
    if missing:
        raise UnknownSku(str(min(missing)), f"Unknown product id {min(missing)}.", product_id=min(missing))
    return found


def components_of(*, merchant: Merchant, products: Iterable[ProductInfo]) -> dict[int, list[tuple[int, int]]]:
    """{product_id: [(stock_product_id, per_unit), ...]}; a plain product is made of itself once."""
    out: dict[int, list[tuple[int, int]]] = {}
    bundle_ids = []
    for p in products:
        if p.is_bundle:
            bundle_ids.append(p.pk)
            out[p.pk] = []
        else:
            out[p.pk] = [(p.pk, 1)]
    if bundle_ids:
        rows = BundleComponent.objects.filter(merchant=merchant, bundle_id__in=bundle_ids).order_by("component_id")
        for row in rows.values_list("bundle_id", "component_id", "quantity"):
            out[row[0]].append((row[1], row[2]))
        for bid in bundle_ids:
            if not out[bid]:
                raise InvalidStockOperation(f"Bundle {bid} has no components.", details={"product_id": bid})
    return out


def ensure_levels(*, merchant: Merchant, product_ids: Iterable[int]) -> None:
    """Give each stock-holding product a level row at every location (normally made at creation)."""
    pids = set(product_ids)
    if not pids:
        return
    location_ids = list(Location.objects.filter(merchant=merchant).values_list("pk", flat=True))
    have = set(
        StockLevel.objects.filter(merchant=merchant, product_id__in=pids).values_list("product_id", "location_id")
    )
    missing = [(p, loc) for p in sorted(pids) for loc in location_ids if (p, loc) not in have]
    if missing:
        backorder = dict(
            Product.objects.filter(merchant=merchant, pk__in=pids).values_list("pk", "allows_backorder")
        )
        StockLevel.objects.bulk_create(
            [
                StockLevel(merchant=merchant, product_id=p, location_id=loc, allows_backorder=backorder.get(p, False))
                for p, loc in missing
            ],
            ignore_conflicts=True,
        )


@dataclass
class StockTx:
    """The levels of some products, locked, and the changes made to them in this transaction."""

    merchant: Merchant
    actor: User | None = None
    levels: dict[int, list[Level]] = field(default_factory=dict)  # product_id -> levels, default location first
    _deltas: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    _movements: list[tuple] = field(default_factory=list)
    _touched: set[int] = field(default_factory=set)
    known: dict[int, ProductInfo] = field(default_factory=dict)  # products the caller already loaded
    # Reservation rows to write with the rest in finish() (PostgreSQL; _steps.save_reservations stages them).
    _res_create: list = field(default_factory=list)
    _res_update: list = field(default_factory=list)
    _res_delete: list = field(default_factory=list)

    @classmethod
    def lock(
        cls, *, merchant: Merchant, product_ids: Iterable[int], actor: User | None = None,
        known: dict[int, ProductInfo] | None = None,
    ) -> StockTx:
        tx = cls(merchant=merchant, actor=actor, known=known or {})
        tx.lock_more(product_ids)
        return tx

    @classmethod
    def lock_plain(cls, *, merchant: Merchant, product_ids: Iterable[int], actor: User | None = None) -> StockTx | None:
        """Lock the levels of these products and read the products with them, in ONE statement (it replaces
        the product read before `lock`): for plain products whose level rows all exist, the common case. None
        when that is not the case (a bundle among them: nothing is locked then; an unknown or foreign id; a
        level row missing): the caller takes the general road (`products_by_id`, `components_of`, `lock`),
        which raises UnknownSku or creates the missing rows. Same lock order: levels by id."""
        pids = sorted(set(product_ids))
        level, product, location = StockLevel._meta.db_table, Product._meta.db_table, Location._meta.db_table
        # prepared: planning this join was most of its cost. `p.id = ANY(...)` says again what the join implies, so
        # the products are found by their key whatever the statistics say (a table never analyzed looked like a
        # few rows per merchant, and the plan read all of the merchant's products to join one level).
        with bound_cursor(prepare=True) as cur:
            cur.execute(binary_placeholders(
                "SELECT s.id, s.product_id, s.location_id, s.on_hand, s.reserved, s.allows_backorder, l.is_default, "  # noqa: S608
                f"l.name, p.sku, p.allows_backorder, p.low_stock_threshold FROM {level} AS s "
                f"JOIN {product} AS p ON p.id = s.product_id AND p.merchant_id = s.merchant_id "
                f"JOIN {location} AS l ON l.id = s.location_id "
                "WHERE s.merchant_id = %s::bigint AND s.product_id = ANY(%s::bigint[]) AND p.id = ANY(%s::bigint[]) "
                f"AND NOT EXISTS (SELECT 1 FROM {product} AS b WHERE b.merchant_id = %s::bigint "
                "AND b.id = ANY(%s::bigint[]) AND b.is_bundle) ORDER BY s.id FOR UPDATE OF s"),
                [merchant.pk, pids, pids, merchant.pk, pids])
            rows = cur.fetchall()
        known = {r[1]: ProductInfo(r[1], r[8], False, r[9], r[10]) for r in rows}
        if len(known) < len(pids):
            return None
        levels = [Level(*r[:8]) for r in rows]
        if _missing_locations(merchant, levels, pids):
            return None
        tx = cls(merchant=merchant, actor=actor, known=known)
        for pid in pids:
            tx.levels[pid] = []
        for lv in sorted(levels, key=lambda r: (not r.location_is_default, r.location_id)):
            tx.levels[lv.product_id].append(lv)
        return tx

    def lock_more(self, product_ids: Iterable[int]) -> None:
        """Lock the levels of products not locked yet, in one SELECT in id order.

        Called once per transaction by `lock`; a second call happens only when rows read under the first
        lock name products nobody could know before (a reservation made concurrently under another bill
        of materials), and the shared deadlock retry covers that rare second acquisition.
        """
        pids = sorted(set(product_ids) - self.levels.keys())
        if not pids:
            return
        rows = _locked_levels(self.merchant, pids)
        if len({r.product_id for r in rows}) < len(pids) or _missing_locations(self.merchant, rows, pids):
            # Rare: a level row is missing (created lazily). Create, then lock again (same order).
            ensure_levels(merchant=self.merchant, product_ids=pids)
            rows = _locked_levels(self.merchant, pids)
        for pid in pids:
            self.levels[pid] = []
        for r in sorted(rows, key=lambda r: (not r.location_is_default, r.location_id)):
            self.levels[r.product_id].append(r)

    # -- reading ---------------------------------------------------------------------------------
    def available(self, product_id: int) -> int:
        return units_available((lv.on_hand, lv.reserved, lv.allows_backorder) for lv in self.levels.get(product_id, []))

    def level_at(self, product_id: int, location_id: int) -> Level:
        for lv in self.levels.get(product_id, []):
            if lv.location_id == location_id:
                return lv
        raise InvalidStockOperation("No stock level for this product at this location.",
                                    details={"product_id": product_id, "location_id": location_id})

    # -- writing ---------------------------------------------------------------------------------
    def change(
        self, level: Level, *, on_hand: int = 0, reserved: int = 0, reason: str, reference: str = "",
        note: str = "", record_zero: bool = False,
    ) -> None:
        """Apply deltas to a locked level and append the movement. Callers check availability first."""
        if not on_hand and not reserved and not record_zero:
            return
        new_on_hand, new_reserved = level.on_hand + on_hand, level.reserved + reserved
        if max(new_on_hand, new_reserved, abs(on_hand), abs(reserved)) > MAX_UNITS:
            raise InvalidStockOperation(
                f"That is too large: a stock level holds at most {MAX_UNITS:,} units.",
                details={"product_id": level.product_id, "location_id": level.location_id},
            )
        if new_on_hand < 0 or new_reserved < 0 or (not level.allows_backorder and new_reserved > new_on_hand):
            raise InvalidStockOperation(
                "This change would leave the stock level inconsistent.",
                details={"product_id": level.product_id, "location_id": level.location_id,
                         "on_hand": new_on_hand, "reserved": new_reserved},
            )
        level.on_hand, level.reserved = new_on_hand, new_reserved
        d = self._deltas[level.pk]
        d[0] += on_hand
        d[1] += reserved
        self._touched.add(level.product_id)
        self._movements.append(
            (level.product_id, level.location_id, on_hand, reserved, str(reason), reference[:128], note[:255])
        )

    def stage_reservations(self, *, create: list, update: list, delete: list[int]) -> None:
        """Reservation rows finish() writes in its one statement (PostgreSQL)."""
        self._res_create.extend(create)
        self._res_update.extend(update)
        self._res_delete.extend(delete)

    def finish(self, *, holders: Mapping[str, int] | None = None) -> None:
        """Write levels and movements, mark availability, update low-stock state.

        `holders` ({reference: the product it reserves}, PostgreSQL): the caller has NOT read those references'
        reservation rows (stock_reserve's fast road): the rows staged for creation are added to any that exist
        (an upsert by delta), and the statement first checks, under the levels' lock, that no reference holds
        another product: if one does, it writes nothing and InvalidStockOperation is raised, as the read would."""
        changed = [(pk, d) for pk, d in self._deltas.items() if d[0] or d[1]]
        if connection.vendor == "postgresql" and (changed or self._movements or self._res_create
                                                  or self._res_update or self._res_delete):
            other = self._write_all_pg(changed, holders)
            if other is not None:
                raise other_product_held(other)
            if self._touched:
                _notify_after_commit(self.merchant.pk)
                self._update_low_stock()
            return
        if changed:
            self._write_levels(changed)
        if self._movements:
            self._write_movements()
        if self._touched:
            mark_products(merchant=self.merchant, product_ids=self._touched)
            self._update_low_stock()

    def _write_all_pg(self, changed: list[tuple[int, list[int]]], holders: Mapping[str, int] | None = None,
                      ) -> str | None:
        """Levels, ledger rows, reservation rows and availability marks in ONE statement of data-modifying
        CTEs (each runs exactly once whatever the outer SELECT reads). It replaces what were up to six
        round trips per stock operation (UPDATE levels, INSERT movements, INSERT / UPDATE / DELETE
        reservations, the marks' upsert): the rows are already locked by lock(), so one statement changes
        nothing but the round trips. Same rules as the separate writes: levels by delta (the CHECK
        constraints still guard them), movements appended in the order they were made, marks for every
        consumer and for each bundle containing a touched product, sent sorted so that concurrent markers
        lock the marks in the same order.

        With `holders` (see finish), `other` finds a reference holding another product than the one it
        reserves; every write is conditional on there being none, and the statement returns that reference
        (None when all was written): one statement instead of reading the references' rows before."""
        now, actor_id, m = timezone.now(), self.actor.pk if self.actor else None, self.merchant.pk
        mv = list(zip(*self._movements, strict=True)) if self._movements else [[] for _ in range(7)]
        rc, ru = self._res_create, self._res_update
        level, move = StockLevel._meta.db_table, StockMovement._meta.db_table
        res, mark, bc = Reservation._meta.db_table, AvailabilityMark._meta.db_table, BundleComponent._meta.db_table
        # Table names come from the models; every value is a parameter.
        ok = "NOT EXISTS (SELECT 1 FROM other)"  # true when no holders were given
        upsert = (" ON CONFLICT (merchant_id, reference, product_id, location_id) DO UPDATE SET "
                  "quantity = r0.quantity + EXCLUDED.quantity, updated_at = EXCLUDED.updated_at") if holders else ""
        sql = (
            f"WITH other AS (SELECT r.reference FROM {res} AS r JOIN unnest(%s::text[], %s::bigint[]) AS w(ref, p) "  # noqa: S608
            "ON r.reference = w.ref WHERE r.merchant_id = %s::bigint AND r.unit_product_id <> w.p LIMIT 1), "
            f"lv AS (UPDATE {level} AS s SET on_hand = s.on_hand + v.dh, reserved = s.reserved + v.dr, "
            "updated_at = %s::timestamptz FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS v(id, dh, dr) "
            f"WHERE s.id = v.id AND s.merchant_id = %s::bigint AND {ok} RETURNING 1), "
            f"mv AS (INSERT INTO {move} (merchant_id, product_id, location_id, on_hand_delta, reserved_delta, "
            "reason, reference, note, actor_id, created_at) "
            "SELECT %s::bigint, m.p, m.l, m.dh, m.dr, m.reason, m.ref, m.note, %s::bigint, %s::timestamptz FROM unnest("
            "%s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::text[], %s::text[], %s::text[]"
            f") WITH ORDINALITY AS m(p, l, dh, dr, reason, ref, note, n) WHERE {ok} ORDER BY m.n RETURNING 1), "
            f"rc AS (INSERT INTO {res} AS r0 (merchant_id, reference, unit_product_id, per_unit, product_id, "
            "location_id, quantity, updated_at) SELECT %s::bigint, r.ref, r.up, r.per, r.p, r.l, r.q, %s::timestamptz FROM unnest("
            "%s::text[], %s::bigint[], %s::int[], %s::bigint[], %s::bigint[], %s::int[]) AS r(ref, up, per, p, l, q) "
            f"WHERE {ok}{upsert} RETURNING 1), "
            f"ru AS (UPDATE {res} AS r SET quantity = v.q FROM unnest(%s::bigint[], %s::int[]) AS v(id, q) "
            f"WHERE r.id = v.id AND r.merchant_id = %s::bigint AND {ok} RETURNING 1), "
            f"rd AS (DELETE FROM {res} WHERE merchant_id = %s::bigint AND id = ANY(%s::bigint[]) AND {ok} RETURNING 1), "
            f"mk AS (INSERT INTO {mark} (merchant_id, consumer, product_id, marked_at) "
            "SELECT %s::bigint, c.consumer, p.id, %s::timestamptz FROM unnest(%s::text[]) AS c(consumer), ("
            f"  SELECT unnest(%s::bigint[]) AS id UNION SELECT bundle_id FROM {bc} "
            "   WHERE merchant_id = %s::bigint AND component_id = ANY(%s::bigint[])"
            f") AS p WHERE {ok} ORDER BY c.consumer, p.id {MARK_CONFLICT} RETURNING 1) "
            "SELECT (SELECT reference FROM other)"
        )
        touched = sorted(self._touched)
        params = [
            list(holders or ()), list((holders or {}).values()), m,
            now, [c[0] for c in changed], [c[1][0] for c in changed], [c[1][1] for c in changed], m,
            m, actor_id, now, *[list(c) for c in mv],
            m, now, [r.reference for r in rc], [r.unit_product_id for r in rc], [r.per_unit for r in rc],
            [r.product_id for r in rc], [r.location_id for r in rc], [r.quantity for r in rc],
            [r.pk for r in ru], [r.quantity for r in ru], m,
            m, list(self._res_delete),
            m, now, sorted(consumers()) if touched else [], touched, m, touched,
        ]
        # Prepared (planning seven data-modifying CTEs was most of a reservation's database CPU), parameters in
        # binary (a page's arrays quoted into the text cost more than the write).
        with bound_cursor(prepare=True) as cur:
            cur.execute(binary_placeholders(sql), params)
            other = cur.fetchone()[0]
        self._res_create, self._res_update, self._res_delete = [], [], []
        return other

    def _write_levels(self, changed: list[tuple[int, list[int]]]) -> None:
        now = timezone.now()
        if connection.vendor == "postgresql" and len(changed) > BULK_SQL_THRESHOLD:
            table = StockLevel._meta.db_table
            with connection.cursor() as cur:
                cur.execute(
                    f"UPDATE {table} AS s SET on_hand = s.on_hand + v.dh, reserved = s.reserved + v.dr, "  # noqa: S608
                    "updated_at = %s FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS v(id, dh, dr) "
                    "WHERE s.id = v.id AND s.merchant_id = %s",
                    [now, [c[0] for c in changed], [c[1][0] for c in changed], [c[1][1] for c in changed],
                     self.merchant.pk],
                )
            return
        for pk, (dh, dr) in changed:
            StockLevel.objects.filter(merchant=self.merchant, pk=pk).update(
                on_hand=F("on_hand") + dh, reserved=F("reserved") + dr, updated_at=now
            )

    def _write_movements(self) -> None:
        now, actor_id = timezone.now(), self.actor.pk if self.actor else None
        if connection.vendor == "postgresql":
            cols = list(zip(*self._movements, strict=True))
            with connection.cursor() as cur:
                cur.execute(
                    f"INSERT INTO {StockMovement._meta.db_table} (merchant_id, product_id, location_id, "  # noqa: S608
                    "on_hand_delta, reserved_delta, reason, reference, note, actor_id, created_at) "
                    "SELECT %s, m.p, m.l, m.dh, m.dr, m.reason, m.ref, m.note, %s, %s FROM unnest("
                    "%s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::text[], %s::text[], %s::text[]"
                    ") WITH ORDINALITY AS m(p, l, dh, dr, reason, ref, note, n) ORDER BY m.n",
                    [self.merchant.pk, actor_id, now, *[list(c) for c in cols]],
                )
            return
        StockMovement.objects.bulk_create(
            [
                StockMovement(merchant=self.merchant, product_id=p, location_id=loc, on_hand_delta=dh,
                              reserved_delta=dr, reason=reason, reference=ref, note=note, actor_id=actor_id)
                for p, loc, dh, dr, reason, ref, note in self._movements
            ],
            batch_size=2000,
        )

    def _update_low_stock(self) -> None:
        if self._touched <= self.known.keys():
            # Thresholds are already loaded: skip the lookup when no touched product has one.
            touched = {pid for pid in self._touched if self.known[pid].low_stock_threshold > 0}
            if not touched:
                return
        else:
            touched = self._touched
        low_stock_evaluate(merchant=self.merchant, available={pid: self.available(pid) for pid in touched})


@functools.cache
def _reserve_one_sql(*, in_transaction: bool = False) -> str:
    """reserve_one_pg's statement, written once per process (its text is the prepared statement's key). Named
    parameters in binary: each value travels once however often the statement uses it (9 values, where the 22
    placeholders it has were 22 values for the client to adapt at every call).

    `in_transaction`: the lock it takes is held until the caller commits, so it must not break the order every
    other stock call locks in (a product's levels by ascending id): the statement moves the default level only
    when no level of the product has a lower id, so any level the caller locks later comes after it; otherwise
    it writes nothing and the general road locks all of them in order. In autocommit the lock ends with the
    statement, so that condition would only send products whose default location came later to the slow road."""
    lowest = (f"AND NOT EXISTS (SELECT 1 FROM {StockLevel._meta.db_table} AS s2 WHERE s2.merchant_id = %(m)b::bigint "  # noqa: S608
              "AND s2.product_id = %(p)b::bigint AND s2.id < s.id) ") if in_transaction else ""
    level, product, location = StockLevel._meta.db_table, Product._meta.db_table, Location._meta.db_table
    move, res, mark = StockMovement._meta.db_table, Reservation._meta.db_table, AvailabilityMark._meta.db_table
    bc = BundleComponent._meta.db_table
    sql = (
        f"WITH lv AS (UPDATE {level} AS s SET reserved = s.reserved + %(q)b::int, updated_at = %(now)b::timestamptz "  # noqa: S608
        f"FROM {product} AS p, {location} AS l WHERE s.merchant_id = %(m)b::bigint AND s.product_id = %(p)b::bigint "
        "AND p.id = s.product_id AND p.merchant_id = s.merchant_id AND NOT p.is_bundle "
        "AND l.id = s.location_id AND l.merchant_id = s.merchant_id AND l.is_default "
        "AND s.on_hand - s.reserved >= %(q)b::int AND (p.low_stock_threshold = 0 OR (p.low_stock_since IS NULL "
        "  AND s.on_hand - s.reserved - %(q)b::int > p.low_stock_threshold)) "
        f"AND NOT EXISTS (SELECT 1 FROM {res} AS r WHERE r.merchant_id = %(m)b::bigint AND r.reference = %(ref)b::text) "
        f"{lowest}RETURNING s.product_id, s.location_id), "
        f"mv AS (INSERT INTO {move} (merchant_id, product_id, location_id, on_hand_delta, reserved_delta, reason, "
        "reference, note, actor_id, created_at) "
        "SELECT %(m)b::bigint, lv.product_id, lv.location_id, 0, %(q)b::int, %(reason)b::text, %(ledger_ref)b::text, '', %(actor)b::bigint, "
        "%(now)b::timestamptz FROM lv RETURNING 1), "
        f"rc AS (INSERT INTO {res} (merchant_id, reference, unit_product_id, per_unit, product_id, location_id, "
        "quantity, updated_at) SELECT %(m)b::bigint, %(ref)b::text, lv.product_id, 1, lv.product_id, lv.location_id, "
        "%(q)b::int, %(now)b::timestamptz FROM lv RETURNING 1), "
        f"mk AS (INSERT INTO {mark} (merchant_id, consumer, product_id, marked_at) "
        "SELECT %(m)b::bigint, c.consumer, p.id, %(now)b::timestamptz FROM unnest(%(consumers)b::text[]) AS c(consumer), ("
        f"  SELECT lv.product_id AS id FROM lv UNION SELECT bundle_id FROM {bc}, lv "
        "   WHERE merchant_id = %(m)b::bigint AND component_id = lv.product_id"
        f") AS p ORDER BY c.consumer, p.id {MARK_CONFLICT} RETURNING 1) "
        "SELECT count(*) FROM lv"
    )
    return sql


def reserve_one_pg(*, merchant: Merchant, product_id: int, quantity: int, reference: str,
                   actor: User | None = None) -> bool:
    """Reserve `quantity` of a plain product for a reference that holds nothing yet, from the default location,
    in ONE autocommit statement: True when it did, False when it wrote nothing and the caller must take the
    general road (StockTx: lock, check, write), which decides everything else: not enough at the default location,
    a bundle, an unknown or foreign id, a reference already holding rows, a product whose low-stock threshold this
    may reach (low_stock_evaluate runs there; above the threshold after the change, with no alert pending, it has
    nothing to do: the default level's availability is a floor of the product's, other levels adding 0 or more).

    Why: the general road holds the level's row lock over three round trips (its locking read, its write, COMMIT);
    with every client on one hot product, that hold is the rate. Here the conditional UPDATE of the level is the
    statement's first act, as in the bare `UPDATE ... WHERE on_hand - reserved >= q`: PostgreSQL re-checks the
    condition on the newest version of the row once the lock is its (EvalPlanQual), and holds the lock for this
    one statement. The ledger row, the reservation row and the availability marks are written from its RETURNING,
    so they exist exactly when the level moved.

    What it read before the lock may be stale: "the reference holds nothing" is read in the statement's snapshot,
    taken before it waited for the level. So the reservation row is a plain INSERT: if the same reference has
    reserved this product at this location meanwhile (under this level's lock, the only way to write that row),
    or a bundle holding it as a component has, the unique constraint refuses it, the whole statement (autocommit)
    is undone and False sends the caller to the general road, which reads the rows under the lock. A reference
    given another product whose levels this one does not share can race it, as it can on the general road (the
    rule is checked there under the levels' lock of the product asked for, not of the other). Locks: the level,
    then the reservation's key, then the marks (sorted), the general road's order.

    Inside a caller's transaction the statement runs under a savepoint of its own: a refused INSERT aborts the
    statement and the savepoint's rollback undoes all of it (the level is never left moved without its rows) and
    leaves the caller's transaction usable for the general road. There the statement replaces the general road's
    locking read and write (two statements whose array parameters made PostgreSQL plan them anew at every call:
    a custom plan each time, where this one's scalar parameters keep its generic plan), at the price of the
    savepoint's two round trips, which the general road's retry_transaction took as well. The level's lock is
    then held until the caller commits, as on the general road; only the default location's level is locked
    (the general road locks all of the product's), and only when it is the product's lowest-id level, so a later
    stock call in the same transaction still locks the product's levels in ascending order.
    """
    now, m = timezone.now(), merchant.pk
    params = {"q": quantity, "now": now, "m": m, "p": product_id, "ref": reference,
              "reason": str(StockMovement.Reason.RESERVED), "ledger_ref": reference[:128],
              "actor": actor.pk if actor else None, "consumers": sorted(consumers())}
    in_transaction = connection.in_atomic_block or not connection.get_autocommit()
    guard = transaction.atomic() if in_transaction else nullcontext()
    try:
        with guard, bound_cursor(prepare=True) as cur:
            cur.execute(_reserve_one_sql(in_transaction=in_transaction), params)
            done = cur.fetchone()[0] == 1
    except DatabaseError as exc:
        # The reference's row written meanwhile: this statement wrote nothing (in a caller's transaction, its
        # savepoint is rolled back). A deadlock victim in autocommit likewise; inside a caller's transaction the
        # deadlock involves locks the caller holds, which the general road would meet again: the caller's retry
        # decides.
        if has_sqlstate(exc, UNIQUE_VIOLATION) or (is_retryable(exc) and not in_transaction):
            return False
        raise
    if done:
        _notify_after_commit(m)
    return done


def other_product_held(reference: str) -> InvalidStockOperation:
    """The refusal of a reference that already holds another product than it now asks for (a bundle, or an
    order line whose SKU was matched again): one wording wherever it is found."""
    return InvalidStockOperation(f"Reference {reference!r} already holds another product.",
                                 details={"reference": reference})


def _locked_levels(merchant: Merchant, pids: list[int]) -> list[Level]:
    """One SELECT ... ORDER BY id FOR UPDATE over every level of these products. On PostgreSQL the ids are one
    array parameter in binary: Django's `IN (...)` of a page's 750 ids, each quoted into the text, cost the client
    more than the lock cost the server."""
    if connection.vendor == "postgresql":
        level, location = StockLevel._meta.db_table, Location._meta.db_table
        with bound_cursor() as cur:
            cur.execute(
                "SELECT s.id, s.product_id, s.location_id, s.on_hand, s.reserved, s.allows_backorder, l.is_default, "  # noqa: S608
                f"l.name FROM {level} AS s JOIN {location} AS l ON l.id = s.location_id "
                "WHERE s.merchant_id = %b AND s.product_id = ANY(%b::bigint[]) ORDER BY s.id FOR UPDATE OF s",
                [merchant.pk, pids])
            return [Level(*r) for r in cur.fetchall()]
    rows = (
        StockLevel.objects.filter(merchant=merchant, product_id__in=pids)
        .order_by("pk")
        .select_for_update(of=("self",))
        .values_list("pk", "product_id", "location_id", "on_hand", "reserved", "allows_backorder",
                     "location__is_default", "location__name")
    )
    return [Level(*r) for r in rows]


def _missing_locations(merchant: Merchant, rows: list[Level], pids: list[int]) -> bool:
    """True when products have different numbers of levels (a level was never created for one)."""
    per_product: dict[int, int] = defaultdict(int)
    for r in rows:
        per_product[r.product_id] += 1
    return len(set(per_product.values())) > 1


def mark_products(*, merchant: Merchant, product_ids: Iterable[int]) -> None:
    """Mark products (and every bundle containing them) dirty for each availability consumer.

    One upsert; rows are sent sorted so concurrent markers lock existing marks in the same order.
    """
    pids = set(product_ids)
    if not pids:
        return
    _notify_after_commit(merchant.pk)
    if connection.vendor == "postgresql":
        _mark_products_pg(merchant, sorted(pids))
        return
    pids |= set(
        BundleComponent.objects.filter(merchant=merchant, component_id__in=pids).values_list("bundle_id", flat=True)
    )
    now = timezone.now()
    rows = [
        AvailabilityMark(merchant=merchant, consumer=c, product_id=p, marked_at=now)
        for c in sorted(consumers())
        for p in sorted(pids)
    ]
    if rows:
        AvailabilityMark.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["merchant", "consumer", "product"], update_fields=["marked_at"]
        )


def _notify_after_commit(merchant_id: int) -> None:
    """Tell the consumers that asked (their `on_marked`) once the marks are committed. The stock change
    has happened by then: a hook that fails is logged and its consumer's periodic fan-out catches up."""
    hooks = [(c.name, c.on_marked) for _, c in availability_consumers.items() if c.on_marked is not None]

    def notify() -> None:
        for name, hook in hooks:
            try:
                hook(merchant_id)
            except Exception:
                logger.exception("inventory.availability.on_marked_failed",
                                 extra={"consumer": name, "merchant_id": merchant_id})

    if hooks:
        transaction.on_commit(notify)


def _mark_products_pg(merchant: Merchant, pids: list[int]) -> None:
    """The same upsert in one statement: the products, the bundles containing them, every consumer."""
    mark, bc = AvailabilityMark._meta.db_table, BundleComponent._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {mark} (merchant_id, consumer, product_id, marked_at) "  # noqa: S608
            "SELECT %s, c.consumer, p.id, %s FROM unnest(%s::text[]) AS c(consumer), ("
            f"  SELECT unnest(%s::bigint[]) AS id UNION SELECT bundle_id FROM {bc} "
            "   WHERE merchant_id = %s AND component_id = ANY(%s)"
            f") AS p ORDER BY c.consumer, p.id {MARK_CONFLICT}",
            [merchant.pk, timezone.now(), sorted(consumers()), pids, merchant.pk, pids],
        )


def check_positive(quantity: int, what: str = "quantity") -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0 or quantity > MAX_UNITS:
        raise InvalidStockOperation(f"{what} must be a whole number from 1 to {MAX_UNITS:,}.",
                                    details={what: quantity})


def default_location_id(merchant: Merchant) -> int:
    loc = Location.objects.filter(merchant=merchant, is_default=True).values_list("pk", flat=True).first()
    if loc is None:
        raise LocationNotFound("The merchant has no default location.")
    return loc


def location_checked(merchant: Merchant, location_id: int | None) -> int:
    if location_id is None:
        return default_location_id(merchant)
    if not Location.objects.filter(merchant=merchant, pk=location_id).exists():
        raise LocationNotFound(details={"location_id": location_id})
    return location_id
