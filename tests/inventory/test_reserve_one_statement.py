"""stock_reserve's one-statement road (inventory._core.reserve_one_pg: one reservation outside a transaction, for a
reference that holds nothing): what it writes, when it gives way to the general road, and how it behaves racing
that road with real threads on PostgreSQL (its snapshot is older than its lock)."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection, connections, transaction

from accounts.tenancy import tenant_scope
from integrations.sync.stock import DEBOUNCE_KEY
from inventory import selectors, services
from inventory.errors import InvalidStockOperation, OutOfStock, UnknownSku
from inventory.models import AvailabilityMark, Reservation, StockLevel, StockMovement
from inventory.services import HoldTarget, ReserveRequest
from tests.inventory.helpers import make_bundle, make_product

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _held(m, reference: str) -> list[tuple[int, int, int]]:
    return list(Reservation.objects.filter(merchant=m, reference=reference).order_by("pk")
                .values_list("unit_product_id", "product_id", "quantity"))


def test_one_reservation_is_one_statement_with_its_ledger_row_and_marks(merchant_a, django_assert_max_num_queries):
    # Given a stocked product and its bundle, their marks taken, and a stock push already waiting (debounced: the
    # reservation schedules none, so what is counted is the reservation's own work)
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        kit = make_bundle(m, "KIT-1", [(a, 2)])
        AvailabilityMark.objects.filter(merchant=m).delete()
        cache.set(DEBOUNCE_KEY.format(merchant_id=m.pk), 1)
        # When one unit is reserved for a new reference, outside any transaction
        with django_assert_max_num_queries(1):
            got = services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 3, "order_line:1")])
        # (and so is one of a product with a low-stock threshold that it stays above)
        watched = make_product(m, "W-1", on_hand=10, low_stock_threshold=3)
        cache.set(DEBOUNCE_KEY.format(merchant_id=m.pk), 1)
        with django_assert_max_num_queries(1):
            services.stock_reserve(merchant=m, requests=[ReserveRequest(watched.pk, 6, "order_line:9")])
        # Then it is reserved, recorded in the ledger and marked for the product and the bundle containing it
        assert got == {"order_line:1": 3}
        assert _held(m, "order_line:1") == [(a.pk, a.pk, 3)]
        assert selectors.product_available(merchant=m, product_id=a.pk) == 7
        assert list(StockMovement.objects.filter(merchant=m, reference="order_line:1").values_list(
            "reason", "on_hand_delta", "reserved_delta")) == [("reserved", 0, 3)]
        marked = set(AvailabilityMark.objects.filter(merchant=m).values_list("product_id", flat=True))
        assert marked == {a.pk, kit.pk, watched.pk}
        watched.refresh_from_db()
        assert watched.low_stock_since is None
        # And a mark already pending and unclaimed is left as it is; a claimed one moves (the consumer keeps it)
        before = dict(AvailabilityMark.objects.filter(merchant=m).values_list("pk", "marked_at"))
        claimed = AvailabilityMark.objects.filter(merchant=m, product_id=kit.pk)
        claimed.update(claimed_until=claimed.first().marked_at)
        services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "order_line:2")])
        after = dict(AvailabilityMark.objects.filter(merchant=m).values_list("pk", "marked_at"))
        assert {pk for pk in after if after[pk] != before[pk]} == set(claimed.values_list("pk", flat=True))
        assert selectors.audit_differences(merchant=m) == []


def test_what_the_statement_does_not_cover_takes_the_general_road(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(merchant_b.merchant):
        foreign = make_product(merchant_b.merchant, "B-1", on_hand=5)
    with tenant_scope(m):
        # Another merchant's product: unknown here, and untouched
        with pytest.raises(UnknownSku):
            services.stock_reserve(merchant=m, requests=[ReserveRequest(foreign.pk, 1, "f:1")])
    with tenant_scope(merchant_b.merchant):
        assert selectors.product_available(merchant=merchant_b.merchant, product_id=foreign.pk) == 5
        assert not Reservation.objects.filter(merchant=merchant_b.merchant).exists()
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        kit = make_bundle(m, "KIT-1", [(a, 2)])
        low = make_product(m, "LOW-1", on_hand=6, low_stock_threshold=4)
        # A reference that already holds the product: added to its row
        for _ in range(2):
            services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "r:1")])
        assert _held(m, "r:1") == [(a.pk, a.pk, 2)]
        # A reference that holds a bundle made of it: refused, nothing written
        services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 1, "k:1")])
        with pytest.raises(InvalidStockOperation, match="already holds another product"):
            services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "k:1")])
        # Not enough at the default location: the others give the rest
        second = services.location_create(merchant=m, name="Second", code="SEC")
        services.stock_adjust(merchant=m, product_id=a.pk, delta=5, reason="received", location_id=second.pk)
        assert services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 9, "r:2")]) == {"r:2": 9}
        assert sorted(q for _u, _p, q in _held(m, "r:2")) == [3, 6]
        with pytest.raises(OutOfStock):
            services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 3, "r:3")])
        assert services.stock_reserve(merchant=m, partial=True, requests=[ReserveRequest(a.pk, 3, "r:3")]) == {"r:3": 2}
        # A low-stock threshold reached: the general road evaluates it; and while the alert stands
        services.stock_reserve(merchant=m, requests=[ReserveRequest(low.pk, 1, "l:1")])
        low.refresh_from_db()
        assert low.low_stock_since is None
        services.stock_reserve(merchant=m, requests=[ReserveRequest(low.pk, 1, "l:2")])
        low.refresh_from_db()
        assert low.low_stock_since is not None
        services.stock_adjust(merchant=m, product_id=low.pk, delta=10, reason="received")
        low.refresh_from_db()
        assert low.low_stock_since is None
        assert selectors.product_available(merchant=m, product_id=a.pk) == 0
        assert selectors.audit_differences(merchant=m) == []


def _waiting_for_a_lock(timeout: float = 10.0) -> None:
    """Until another backend of this database waits for a lock (the racing statement is queued)."""
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'")
            if cur.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("nobody waited for the lock")


def _race(m, holder, statement):
    """Run `holder` in a transaction that stays open until `statement` (one stock_reserve, another thread, outside
    any transaction) waits for its locks; then commit. Returns what the statement returned or raised."""
    started, release, out = threading.Event(), threading.Event(), {}

    def second() -> None:
        started.wait()
        try:
            with tenant_scope(m):
                out["got"] = statement()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            out["got"] = exc
        finally:
            connection.close()

    def first() -> None:
        try:
            with tenant_scope(m), transaction.atomic():
                holder()
                started.set()
                release.wait(15)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    started.wait(15)
    _waiting_for_a_lock()
    release.set()
    for t in threads:
        t.join(30)
    return out["got"]


def test_a_reference_reserved_meanwhile_on_the_general_road_adds_up(merchant_a):
    # Given a reference holding nothing when the statement starts, and the general road reserving for it
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
    got = _race(m, lambda: services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 2, "r:1")]),
                lambda: services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 3, "r:1")]))
    # Then both reservations hold, in one row (the statement gave way to the general road, which added)
    assert got == {"r:1": 3}
    with tenant_scope(m):
        assert _held(m, "r:1") == [(a.pk, a.pk, 5)]
        assert selectors.product_available(merchant=m, product_id=a.pk) == 5
        assert selectors.audit_differences(merchant=m) == []


def test_a_reference_given_a_bundle_meanwhile_is_refused_its_component(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        kit = make_bundle(m, "KIT-1", [(a, 2)])
    got = _race(m, lambda: services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 1, "r:1")]),
                lambda: services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "r:1")]))
    assert isinstance(got, InvalidStockOperation) and "already holds another product" in str(got)
    with tenant_scope(m):
        assert _held(m, "r:1") == [(kit.pk, a.pk, 2)]
        assert selectors.product_available(merchant=m, product_id=a.pk) == 8
        assert selectors.audit_differences(merchant=m) == []


def test_a_reference_moved_to_another_product_meanwhile_is_refused(merchant_a):
    # Given a reference holding A, moved to B (its SKU matched again) while the statement waits for A's level
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        b = make_product(m, "B-1", on_hand=10)
        services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "r:1")])
    got = _race(m, lambda: services.stock_apply(merchant=m, holds=[HoldTarget("r:1", b.pk, 1)]),
                lambda: services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "r:1")]))
    # Then the reference holds B only: what the statement read before the lock did not let it write A
    assert isinstance(got, InvalidStockOperation)
    with tenant_scope(m):
        assert _held(m, "r:1") == [(b.pk, b.pk, 1)]
        assert selectors.product_available(merchant=m, product_id=a.pk) == 10
        assert selectors.audit_differences(merchant=m) == []


def test_both_roads_racing_on_shared_references_and_products_never_deadlock_nor_double(merchant_a, caplog):
    # Threads reserve single units (the statement) and pairs in opposite orders (the general road), some under
    # the same references, and bring references to targets with stock_apply, over the same two products.
    m = merchant_a.merchant
    rounds = 20
    with tenant_scope(m):
        a = make_product(m, "A", on_hand=10_000)
        b = make_product(m, "B", on_hand=10_000)

    def client(i: int) -> int:
        first, second = (a, b) if i % 2 == 0 else (b, a)
        with tenant_scope(m):
            for r in range(rounds):
                shared = f"s{r}:{i % 3}"  # three threads share each reference, on its product
                product = a if i % 3 != 1 else b
                services.stock_reserve(merchant=m, requests=[ReserveRequest(product.pk, 1, shared)])
                if i % 3 == 2:
                    services.stock_apply(merchant=m, holds=[HoldTarget(shared, product.pk, 2)])
                services.stock_reserve(merchant=m, requests=[
                    ReserveRequest(first.pk, 1, f"p{i}-{r}:1"), ReserveRequest(second.pk, 1, f"p{i}-{r}:2")])
                services.stock_reserve(merchant=m, requests=[ReserveRequest(first.pk, 1, f"p{i}-{r}:1")])
        return rounds

    errors: list = []
    threads = []
    done: list = [None] * 6

    def run(i: int) -> None:
        try:
            done[i] = client(i)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    for i in range(6):
        threads.append(threading.Thread(target=run, args=(i,)))
        threads[-1].start()
    for t in threads:
        t.join(120)
    assert errors == [] and done == [rounds] * 6
    assert [r for r in caplog.records if r.name == "core.db" and r.levelname == "ERROR"] == []
    with tenant_scope(m):
        rows = Reservation.objects.filter(merchant=m)
        assert rows.count() == len(set(rows.values_list("reference", "product_id", "location_id")))
        held = sum(rows.values_list("quantity", flat=True))
        assert held == 10_000 * 2 - selectors.product_available(merchant=m, product_id=a.pk) - \
            selectors.product_available(merchant=m, product_id=b.pk)
        for ref in {f"s{r}:{k}" for r in range(rounds) for k in range(3)}:
            assert len({u for u, _p, _q in _held(m, ref)}) == 1
        assert selectors.audit_differences(merchant=m) == []


def test_inside_a_callers_transaction_it_is_the_statement_under_a_savepoint(merchant_a, django_assert_max_num_queries):
    # Given a stocked product, its marks taken, a stock push already waiting
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        AvailabilityMark.objects.filter(merchant=m).delete()
        cache.set(DEBOUNCE_KEY.format(merchant_id=m.pk), 1)
        # When one unit is reserved inside a caller's transaction: SAVEPOINT, the statement, RELEASE (the general
        # road was SAVEPOINT, its locking read, its write, RELEASE)
        with transaction.atomic():
            with django_assert_max_num_queries(3):
                got = services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 3, "order_line:1")])
            assert connection.needs_rollback is False
        # Then it is reserved, in the ledger, marked, and the audit is clean
        assert got == {"order_line:1": 3}
        assert _held(m, "order_line:1") == [(a.pk, a.pk, 3)]
        assert list(StockMovement.objects.filter(merchant=m, reference="order_line:1").values_list(
            "reason", "on_hand_delta", "reserved_delta")) == [("reserved", 0, 3)]
        assert set(AvailabilityMark.objects.filter(merchant=m).values_list("product_id", flat=True)) == {a.pk}
        assert selectors.audit_differences(merchant=m) == []


def test_inside_a_callers_transaction_a_refused_statement_leaves_nothing_and_the_transaction_usable(merchant_a):
    # Given a reference given a bundle of A (under A's level lock) while a caller's transaction reserves A for it
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        b = make_product(m, "B-1", on_hand=10)
        kit = make_bundle(m, "KIT-1", [(a, 2)])

    def caller() -> object:
        with transaction.atomic():
            try:
                services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "r:1")])
            except InvalidStockOperation as exc:
                refused = exc
            # the caller's transaction goes on: its next reservation is written and committed with it
            services.stock_reserve(merchant=m, requests=[ReserveRequest(b.pk, 1, "r:2")])
        return refused

    got = _race(m, lambda: services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 1, "r:1")]), caller)
    # Then the statement's INSERT was refused (its snapshot predates the bundle's row), its savepoint rolled back
    # with the level's change and the ledger row, and the general road refused the reference as ever
    assert isinstance(got, InvalidStockOperation) and "already holds another product" in str(got)
    with tenant_scope(m):
        assert _held(m, "r:1") == [(kit.pk, a.pk, 2)]
        assert _held(m, "r:2") == [(b.pk, b.pk, 1)]
        assert selectors.product_available(merchant=m, product_id=a.pk) == 8
        assert not StockMovement.objects.filter(merchant=m, reference="r:1", product_id=a.pk,
                                                reserved_delta=1).exists()
        assert selectors.audit_differences(merchant=m) == []


def test_inside_a_callers_transaction_a_product_s_levels_are_still_locked_in_id_order(merchant_a):
    # Given a product stocked at the first location, and a second location made the default afterwards: the
    # default location's level is not the product's lowest-id level
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        second = services.location_create(merchant=m, name="Second", code="SECOND")
        services.location_update(merchant=m, location=second, make_default=True)
        services.stock_adjust(merchant=m, product_id=a.pk, delta=5, location_id=second.pk, reason="received")
        levels = list(StockLevel.objects.filter(merchant=m, product_id=a.pk).order_by("pk")
                      .values_list("pk", "location_id"))
        assert levels[-1][1] == second.pk  # the default location's level has the highest id

    def unlocked_levels() -> list[int]:
        """The product's levels another connection can lock right now (SKIP LOCKED: those nobody holds)."""
        def read() -> list[int]:
            try:
                with tenant_scope(m), transaction.atomic():
                    return list(StockLevel.objects.filter(merchant=m, product_id=a.pk).order_by("pk")
                                .select_for_update(skip_locked=True).values_list("pk", flat=True))
            finally:
                connections.close_all()
        seen: list[list[int]] = []
        thread = threading.Thread(target=lambda: seen.append(read()))
        thread.start()
        thread.join(10)
        return seen[0]

    # When one unit is reserved inside a caller's transaction, which goes on to do more
    with tenant_scope(m), transaction.atomic():
        got = services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "order_line:1")])
        # Then every level of the product is locked (the general road: all of them, in id order), not the default
        # one alone, which a later stock call in this transaction would have followed with a lower id
        assert unlocked_levels() == []
    assert got == {"order_line:1": 1}
    with tenant_scope(m):
        assert selectors.audit_differences(merchant=m) == []
