"""core.outbox.claim_due on PostgreSQL with real threads: two claimers never get the same row."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.tenancy import tenant_scope
from core.outbox import claim_due
from inventory import services as inventory_services
from inventory.models import AvailabilityMark

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CONSUMER = "tests"  # not a configured consumer: stock changes add no marks of their own


def _marks(merchant, n: int) -> list[int]:
    now = timezone.now()
    with tenant_scope(merchant):
        products = [inventory_services.product_create(merchant=merchant, sku=f"OB-{i}", title=f"P{i}")
                    for i in range(n)]
        rows = AvailabilityMark.objects.bulk_create(
            [AvailabilityMark(merchant=merchant, consumer=CONSUMER, product=p, marked_at=now) for p in products]
        )
    return sorted(r.pk for r in rows)


def _pending(merchant):
    return AvailabilityMark.objects.filter(merchant=merchant, consumer=CONSUMER)


def test_a_claim_skips_rows_another_claimer_holds_instead_of_waiting(merchant_a):
    m = merchant_a.merchant
    ids = _marks(m, 10)
    a_claimed, b_done = threading.Event(), threading.Event()
    got: dict[str, list[int]] = {}
    a_saw_b_finish: list[bool] = []

    def claimer_a() -> None:
        try:
            with tenant_scope(m), transaction.atomic():  # holds its row locks until b has claimed
                got["a"] = [r.pk for r in claim_due(_pending(m), limit=4, due_field="claimed_until")]
                a_claimed.set()
                a_saw_b_finish.append(b_done.wait(timeout=10))
        finally:
            connection.close()

    def claimer_b() -> None:
        try:
            assert a_claimed.wait(timeout=10)
            with tenant_scope(m):
                got["b"] = [r.pk for r in claim_due(_pending(m), limit=10, due_field="claimed_until")]
            b_done.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer_a), threading.Thread(target=claimer_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert a_saw_b_finish == [True]  # b finished while a still held its locks: skipped, not blocked
    assert got["a"] == ids[:4]
    assert got["b"] == ids[4:]
    with tenant_scope(m):
        assert claim_due(_pending(m), limit=10, due_field="claimed_until") == []  # all leased now


def test_racing_claimers_split_the_rows_without_overlap(merchant_a):
    m = merchant_a.merchant
    ids = _marks(m, 60)
    barrier = threading.Barrier(4)
    claimed: list[list[int]] = [[] for _ in range(4)]

    def claimer(i: int) -> None:
        try:
            barrier.wait()
            with tenant_scope(m):
                while batch := claim_due(_pending(m), limit=3, due_field="claimed_until"):
                    claimed[i].extend(r.pk for r in batch)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    everything = [pk for part in claimed for pk in part]
    assert sorted(everything) == ids  # every row claimed exactly once
    assert len(set(everything)) == len(everything)


def test_a_lease_that_runs_out_makes_the_rows_due_again(merchant_a):
    m = merchant_a.merchant
    ids = _marks(m, 3)
    start = timezone.now()
    with tenant_scope(m):
        first = claim_due(_pending(m), limit=10, due_field="claimed_until", lease=timedelta(minutes=5), now=start)
        during = claim_due(_pending(m), limit=10, due_field="claimed_until", now=start + timedelta(minutes=4))
        after = claim_due(_pending(m), limit=10, due_field="claimed_until", now=start + timedelta(minutes=6))

    assert [r.pk for r in first] == ids
    assert all(r.claimed_until == start + timedelta(minutes=5) for r in first)
    assert during == []
    assert [r.pk for r in after] == ids


def test_two_concurrent_availability_runs_take_different_marks(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        for i in range(6):
            inventory_services.product_create(merchant=m, sku=f"AV-{i}", title=f"P{i}")
        inventory_services.availability_ack(merchant=m, consumer="orders", marks=inventory_services.availability_take(
            merchant=m, consumer="orders"))
        products = list(inventory_services.product_create(merchant=m, sku=f"NEW-{i}", title="n") for i in range(4))
        for p in products:
            inventory_services.stock_adjust(merchant=m, product_id=p.pk, delta=1)
        first = inventory_services.availability_take(merchant=m, consumer="orders", limit=2)
        second = inventory_services.availability_take(merchant=m, consumer="orders", limit=10)
        third = inventory_services.availability_take(merchant=m, consumer="orders", limit=10)

    assert len(first) == 2 and len(second) == 2 and third == []
    assert {mk.product_id for mk in first} | {mk.product_id for mk in second} == {p.pk for p in products}
