"""One helper retries a transaction that PostgreSQL aborted for a deadlock or a serialization failure;
what gets past it reaches a client as a 503 in the error shape (API) or a 503 page (dashboard), never a 500."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import IntegrityError, OperationalError, connection, transaction

from accounts.tenancy import tenant_scope
from core import db
from core.errors import TransientConflict
from inventory.models import Product
from orders import services
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized


def _deadlock() -> OperationalError:
    """What Django raises for a deadlock: its OperationalError, caused by psycopg's DeadlockDetected (40P01)."""
    try:
        raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected("deadlock detected")
    except OperationalError as exc:
        return exc


def _serialization_failure() -> OperationalError:
    try:
        raise OperationalError("could not serialize") from psycopg.errors.SerializationFailure("could not serialize")
    except OperationalError as exc:
        return exc


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_is_retried_and_both_transactions_commit(merchant_a, caplog):
    # given two rows and two transactions locking them in opposite orders, meeting in the middle
    m = merchant_a.merchant
    with tenant_scope(m):
        rows = [make_product(m, "P-1").pk, make_product(m, "Q-1").pk]
    barrier = threading.Barrier(2, timeout=10)
    attempts = {0: 0, 1: 0}
    errors: list = []

    @db.retry_transaction
    def work(i: int, first: int, second: int) -> None:
        attempts[i] += 1
        Product.objects.select_for_update().get(merchant=m, pk=first)
        if attempts[i] == 1:
            barrier.wait()  # both hold their first row: the second lock is a deadlock
        Product.objects.select_for_update().get(merchant=m, pk=second)
        Product.objects.filter(merchant=m, pk__in=rows).update(title=f"by {i}")

    def run(i: int, first: int, second: int) -> None:
        try:
            with tenant_scope(m):
                work(i, first, second)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(0, *rows)), threading.Thread(target=run, args=(1, *rows[::-1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then PostgreSQL picked one victim, the helper ran it again, and both committed
    assert errors == []
    assert sorted(attempts.values()) == [1, 2]
    assert [r.getMessage() for r in caplog.records if r.name == "core.db"] == ["core.db.retry"]
    with tenant_scope(m):
        assert Product.objects.filter(merchant=m, title__startswith="by ").count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("failure", [_deadlock, _serialization_failure])
def test_retries_are_bounded_and_end_in_a_503_conflict(failure, monkeypatch):
    monkeypatch.setattr(db.time, "sleep", lambda s: None)
    calls = []

    @db.retry_transaction
    def always_fails() -> None:
        calls.append(1)
        raise failure()

    with pytest.raises(TransientConflict) as err:
        always_fails()
    assert len(calls) == db.ATTEMPTS
    assert (err.value.status_code, err.value.code, err.value.retry_after) == (503, "busy_try_again", 1)
    assert err.value.details == {"attempts": db.ATTEMPTS}


@pytest.mark.django_db(transaction=True)
def test_other_errors_and_nested_transactions_are_not_retried():
    calls = []

    @db.retry_transaction
    def broken() -> None:
        calls.append(1)
        raise IntegrityError("duplicate key")

    with pytest.raises(IntegrityError):
        broken()
    assert calls == [1]

    @db.retry_transaction
    def deadlocks() -> None:
        calls.append(2)
        raise _deadlock()

    # inside a caller's transaction only the outermost block can run the work again: it is not retried here
    with pytest.raises(OperationalError), transaction.atomic():
        deadlocks()
    assert calls == [1, 2]


@pytest.fixture
def order_of_a(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        return services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order


@pytest.mark.django_db
def test_a_deadlock_that_escapes_is_a_503_in_the_error_shape_for_the_api(merchant_a, order_of_a, monkeypatch):
    def deadlocked(**kwargs):
        raise _deadlock()

    monkeypatch.setattr(services, "order_hold", deadlocked)
    r = merchant_a.api.post(f"/api/v1/orders/{order_of_a.pk}/hold/", {}, format="json")
    assert (r.status_code, r["Retry-After"], r.json()["error"]["code"]) == (503, "1", "busy_try_again")
    assert set(r.json()["error"]) == {"code", "message", "details"}


@pytest.mark.django_db
def test_a_deadlock_that_escapes_is_a_503_page_for_the_dashboard(merchant_a, order_of_a, monkeypatch):
    def deadlocked(**kwargs):
        raise _deadlock()

    monkeypatch.setattr(services, "order_hold", deadlocked)
    r = merchant_a.web.post(f"/orders/{order_of_a.pk}/hold/", {"reason": "x"})
    assert (r.status_code, r["Retry-After"]) == (503, "1")
    assert b"nothing was saved" in r.content


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_prepared_statement_a_migration_made_stale_runs_again_in_autocommit_and_in_a_retried_transaction():
    """bound_cursor(prepare=True) keeps a statement prepared on its connection; a migration elsewhere changing the
    type of a column it returns (a rolling deploy) makes PostgreSQL refuse the cached plan. Neither the webhook
    receipt (autocommit) nor a reservation (a retried transaction) may fail on it until the connection is
    recycled."""
    from django.db import connections

    with connection.cursor() as cur:
        cur.execute("CREATE TABLE stale_probe (id int PRIMARY KEY, name varchar(10))")
        cur.execute("INSERT INTO stale_probe VALUES (1, 'a')")
    other = connections.create_connection("default")  # the migration's own connection
    try:
        def read() -> str:
            with db.bound_cursor(prepare=True) as cur:
                cur.execute("SELECT name FROM stale_probe WHERE id = %s", [1])
                return cur.fetchone()[0]

        assert read() == "a"
        assert read() == "a"  # prepared now
        with other.cursor() as cur:
            cur.execute("ALTER TABLE stale_probe ALTER COLUMN name TYPE varchar(20)")
        assert read() == "a"  # autocommit: discarded and prepared again

        with other.cursor() as cur:
            cur.execute("ALTER TABLE stale_probe ALTER COLUMN name TYPE varchar(30)")
        runs = []

        @db.retry_transaction
        def in_a_transaction() -> str:
            runs.append(1)
            return read()

        assert in_a_transaction() == "a"
        assert len(runs) == 2  # the first run met the stale plan, the retry ran it prepared anew
    finally:
        other.close()
        with connection.cursor() as cur:
            cur.execute("DROP TABLE stale_probe")
