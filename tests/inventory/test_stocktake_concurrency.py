"""Real threads: stocktakes below what is reserved, racing orders arriving, stock received and the allocator,
never deadlock past the retry, and leave every order line holding exactly what inventory holds for it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

import inventory.services
from accounts.tenancy import tenant_scope
from inventory import selectors
from inventory import services as inventory_services
from inventory.services._core import StockTx
from orders import services
from orders.models import Order, OrderLine
from tests.inventory.helpers import make_product
from tests.inventory.test_concurrency import run_threads
from tests.orders.helpers import T0, normalized

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_counts_racing_orders_and_receipts_keep_orders_and_inventory_agreeing(merchant_a, caplog):
    m = merchant_a.merchant
    rounds = 8
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=20)
        b = make_product(m, "B-1", on_hand=20)

    def work(i: int):
        with tenant_scope(m):
            for r in range(rounds):
                if i % 3 == 0:  # orders of A and B, in either order
                    lines = (("L1", "A-1", 2), ("L2", "B-1", 1)) if r % 2 else (("L1", "B-1", 1), ("L2", "A-1", 2))
                    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
                        f"{i}-{r}", lines=lines, placed_at=T0 + timedelta(minutes=10 * r + i)))
                elif i % 3 == 1:  # counts below what is reserved
                    inventory_services.stock_set_count(merchant=m, product_id=(a if r % 2 else b).pk, on_hand=r % 3)
                else:  # stock arrives, the allocator refills
                    inventory_services.stock_adjust(merchant=m, product_id=(a if r % 2 else b).pk, delta=3)
                    services.short_orders_allocate(merchant=m)
        return "ok"

    assert run_threads(6, work) == ["ok"] * 6
    # one lock order (orders, then levels in id order): no deadlock needed a retry
    assert [r for r in caplog.records if r.name == "core.db"] == []
    with tenant_scope(m):
        assert selectors.audit_differences(merchant=m) == []
        lines = list(OrderLine.objects.filter(merchant=m).select_related("order"))
        assert len(lines) == 2 * 2 * rounds
        for line in lines:
            assert line.quantity_reserved == selectors.stock_reserved_for(merchant=m, reference=line.reference)
            assert line.order.is_short == any(
                li.quantity_short > 0 for li in lines if li.order_id == line.order_id)


def test_a_reservation_made_between_the_counts_read_and_its_lock_never_deadlocks(merchant_a, caplog, monkeypatch):
    """The race, step by step. The count reads who holds stock (order 1) and locks order 1; before it locks
    the level, order 2 arrives and reserves, and order 2's next change locks order 2 and waits for the level
    the count now holds. Locking order 2 then (waiting) closes a cycle PostgreSQL breaks with a deadlock,
    which the retry used to cover; the count instead gives its locks back and starts again, order 2 first."""
    m = merchant_a.merchant
    with tenant_scope(m):
        product = make_product(m, "A-1", on_hand=10)
        services.order_ingest(merchant=m, integration_id=None, normalized=normalized("1", lines=(("L1", "A-1", 5),)))
    counting = threading.current_thread()
    order_2_locked, count_holds_level = threading.Event(), threading.Event()
    changing: list = []  # what the other thread got
    real_lock, real_apply = StockTx.lock, inventory.services.stock_apply

    def order_2_arrives_then_changes():
        try:
            with tenant_scope(m):
                services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
                    "2", lines=(("L1", "A-1", 5),), placed_at=T0 + timedelta(hours=1)))
                changing.append("placed")  # the update below locks order 2, then waits in stock_apply
                services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
                    "2", lines=(("L1", "A-1", 4),), placed_at=T0 + timedelta(hours=1), updated_minutes=5))
                changing.append("changed")
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            changing.append(exc)
        finally:
            order_2_locked.set()
            connection.close()

    other = threading.Thread(target=order_2_arrives_then_changes)

    def lock(cls, **kwargs):
        if threading.current_thread() is counting and not other.is_alive() and not changing:
            other.start()  # between the count's read of the holders and its level lock
            assert order_2_locked.wait(20)
            tx = real_lock(**kwargs)
            count_holds_level.set()
            return tx
        return real_lock(**kwargs)

    def apply(**kwargs):
        if threading.current_thread() is other and changing == ["placed"]:
            order_2_locked.set()  # order_ingest locked order 2 before calling inventory
            count_holds_level.wait(20)
        return real_apply(**kwargs)

    monkeypatch.setattr(StockTx, "lock", classmethod(lock))
    monkeypatch.setattr(inventory.services, "stock_apply", apply)
    with tenant_scope(m):
        released = inventory_services.stock_set_count(merchant=m, product_id=product.pk, on_hand=2)
    other.join(30)
    assert changing == ["placed", "changed"]
    assert [r.getMessage() for r in caplog.records if r.name == "core.db"] == []  # no deadlock, no retry
    assert released == 4 + 3  # the newest first: all of order 2 (changed to 4), then 3 of order 1's 5
    with tenant_scope(m):
        assert selectors.audit_differences(merchant=m) == []
        held = {line.order.external_id: line.quantity_reserved
                for line in OrderLine.objects.filter(merchant=m).select_related("order")}
        assert held == {"1": 2, "2": 0}
        for line in OrderLine.objects.filter(merchant=m):
            assert line.quantity_reserved == selectors.stock_reserved_for(merchant=m, reference=line.reference)
        assert set(Order.objects.filter(merchant=m).values_list("external_id", "is_short")) == {("1", True), ("2", True)}
