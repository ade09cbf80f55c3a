"""Concurrent deliveries of one order (webhook retries racing the poller) on PostgreSQL, real threads."""

from __future__ import annotations

import threading
from functools import partial

import pytest
from django.db import connection

from accounts.tenancy import tenant_scope
from inventory import selectors as inventory_selectors
from notifications.services import notification_settings_update
from orders import services
from orders.models import Order, OrderLine, OrderStatus
from tests.inventory.helpers import make_product
from tests.orders.helpers import level, normalized, reserved_for


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_deliveries_make_one_order_and_one_reservation(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=10)
        notification_settings_update(merchant=m, new_order_mode="off")
    barrier = threading.Barrier(8)
    outcomes, errors = [], []

    def deliver():
        try:
            with tenant_scope(m):
                barrier.wait()
                outcomes.append(services.order_ingest(merchant=m, integration_id=None,
                                                      normalized=normalized(lines=(("L1", "A-1", 3),))).outcome)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(outcomes) == ["created"] + ["unchanged"] * 7
    with tenant_scope(m):
        assert Order.objects.filter(merchant=m).count() == 1
        line = OrderLine.objects.get(merchant=m)
        assert (line.quantity_reserved, reserved_for(m, line), level(m, a).reserved) == (3, 3, 3)


# -- Orders that share products, worked on at the same time ------------------------------------------------------
# Two orders with lines (P, Q) and (Q, P): if each line locked its own stock rows, the lock order would follow line
# order and the two transactions would deadlock. One inventory call per order locks every level once, in id order.

ROUNDS = 12


def _two_orders(m, n: int):
    """Order X with lines (P, Q) and order Y with lines (Q, P), both fully reserved."""
    x = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        f"x{n}", lines=(("L1", "P-1", 1), ("L2", "Q-1", 1)))).order
    y = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        f"y{n}", lines=(("L1", "Q-1", 1), ("L2", "P-1", 1)))).order
    return x, y


def _race(m, *calls) -> list:
    """Run each call in its own thread and connection, all released at once; returns what each raised."""
    barrier = threading.Barrier(len(calls))
    errors: list = []

    def run(call):
        try:
            with tenant_scope(m):
                barrier.wait()
                call()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.fixture
def shared_products(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        p = make_product(m, "P-1", on_hand=1000)
        q = make_product(m, "Q-1", on_hand=1000)
        notification_settings_update(merchant=m, new_order_mode="off")
    return m, p, q


def _no_deadlock_retried(caplog) -> None:
    assert [r for r in caplog.records if r.getMessage().startswith("core.db.retry")] == []


def _audit_clean(m) -> None:
    with tenant_scope(m):
        assert inventory_selectors.audit_differences(merchant=m) == []


# action -> (what runs on both orders before the race, the service raced, the status after, on_hand after per product)
RACES = {
    "fulfill": (None, services.order_fulfill_all, OrderStatus.FULFILLED, 1000 - 2 * ROUNDS),
    "cancel": (None, services.order_cancel, OrderStatus.CANCELLED, 1000),
    "return": (services.order_fulfill_all, services.order_return, OrderStatus.RETURNED, 1000),
}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("action", list(RACES))
def test_orders_with_reversed_lines_worked_on_at_once_never_deadlock(shared_products, caplog, action):
    # given, each round, order X with lines (P, Q) and order Y with lines (Q, P)
    m, p, q = shared_products
    before, service, status, on_hand = RACES[action]
    for n in range(ROUNDS):
        with tenant_scope(m):
            x, y = _two_orders(m, n)
            if before is not None:
                before(merchant=m, order=x)
                before(merchant=m, order=y)
        # when both are fulfilled (cancelled, returned) at the same moment
        errors = _race(m, partial(service, merchant=m, order=x), partial(service, merchant=m, order=y))
        # then neither fails, and no deadlock even needed a retry
        assert errors == []
    _no_deadlock_retried(caplog)
    _audit_clean(m)
    with tenant_scope(m):
        assert set(Order.objects.filter(merchant=m).values_list("status", flat=True)) == {status}
        assert [(level(m, s).on_hand, level(m, s).reserved) for s in (p, q)] == [(on_hand, 0), (on_hand, 0)]


def _bulk(m, ids: list[int], action: str, results: list) -> None:
    results.append(services.orders_bulk_action(merchant=m, order_ids=ids, action=action, reason="race"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_bulk_actions_over_orders_with_reversed_lines_never_deadlock(shared_products, caplog):
    m, p, q = shared_products
    for n in range(ROUNDS // 3):
        with tenant_scope(m):
            pairs = [_two_orders(m, f"{n}-{k}") for k in range(3)]
        xs, ys = [x.pk for x, _ in pairs], [y.pk for _, y in pairs]
        results: list = []
        errors = _race(m, partial(_bulk, m, xs, "fulfill", results), partial(_bulk, m, ys, "cancel", results),
                       partial(_bulk, m, ys[::-1], "hold", results))
        assert errors == []
        assert all(r["failed"] == [] or {f["code"] for f in r["failed"]} == {"illegal_transition"} for r in results)
        with tenant_scope(m):
            assert set(Order.objects.filter(merchant=m, pk__in=xs).values_list("status", flat=True)) == {
                OrderStatus.FULFILLED}
    _no_deadlock_retried(caplog)
    _audit_clean(m)
