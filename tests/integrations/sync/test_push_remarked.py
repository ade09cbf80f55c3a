"""Marks re-made while a consumer held them are not lost: the acknowledgement keeps them pending, releases
them at once, and says so, so the stock push runs again instead of waiting for beat's fan-out."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from accounts.tenancy import tenant_scope
from integrations.sync.stock import CONSUMER, DEBOUNCE_KEY, stock_push
from inventory import services
from inventory.models import AvailabilityMark
from orders.services.allocation import CONSUMER as SHORT_ORDERS
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db


def test_a_mark_made_again_while_claimed_stays_pending_released_and_counted(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        first, second = make_product(m, "ACK-1", on_hand=5), make_product(m, "ACK-2", on_hand=5)
        services.availability_ack(merchant=m, consumer=CONSUMER,
                                   marks=services.availability_take(merchant=m, consumer=CONSUMER))
        services.stock_adjust(merchant=m, product_id=first.pk, delta=1, reason="received")
        services.stock_adjust(merchant=m, product_id=second.pk, delta=1, reason="received")
        taken = services.availability_take(merchant=m, consumer=CONSUMER)
        assert {mk.product_id for mk in taken} == {first.pk, second.pk}
        # a change while the consumer is working on the marks
        services.stock_adjust(merchant=m, product_id=second.pk, delta=1, reason="received")

        left = services.availability_ack(merchant=m, consumer=CONSUMER, marks=taken)

        assert left == 1
        pending = AvailabilityMark.objects.get(merchant=m, consumer=CONSUMER)
        assert pending.product_id == second.pk and pending.claimed_until is None
        # nothing re-marked: nothing left
        again = services.availability_take(merchant=m, consumer=CONSUMER)
        assert services.availability_ack(merchant=m, consumer=CONSUMER, marks=again) == 0


def test_a_push_whose_marks_were_re_marked_runs_again(merchant_a, monkeypatch):
    # Tasks run in-process here: the push scheduled by the acknowledgement runs at once and takes the mark.
    m = merchant_a.merchant
    key = DEBOUNCE_KEY.format(merchant_id=m.pk)
    with tenant_scope(m):
        product = make_product(m, "ACK-3", on_hand=5)
        original_take, changed = services.availability_take, []

        def take_then_change(**kwargs):  # the stock changes once, right after the push claimed its marks
            marks = original_take(**kwargs)
            if not changed:
                changed.append(True)
                # (its own schedule, on commit, never runs inside this test's transaction: as if it had come
                # and gone while the mark was claimed)
                services.stock_adjust(merchant=m, product_id=product.pk, delta=1, reason="received")
            return marks

        monkeypatch.setattr(services, "availability_take", take_then_change)
        cache.delete(key)
        stock_push(merchant=m)

        assert changed
        assert not AvailabilityMark.objects.filter(merchant=m, consumer=CONSUMER).exists()
    cache.delete(key)


@pytest.mark.django_db(transaction=True)
def test_a_mark_being_re_marked_during_the_ack_is_released_not_left_claimed(merchant_a):
    # (the soak: three products' marks, locked by an ingest at the ack, stayed claimed for the whole lease and
    # every later push passed them by). The orders' consumer, which has no on_marked hook: the stock push's hook
    # would run a push in-process at each commit here and take the marks first.
    m = merchant_a.merchant
    with tenant_scope(m):
        product = make_product(m, "ACK-4", on_hand=5)
        services.availability_ack(merchant=m, consumer=SHORT_ORDERS,
                                  marks=services.availability_take(merchant=m, consumer=SHORT_ORDERS))
        services.stock_adjust(merchant=m, product_id=product.pk, delta=1, reason="received")
        taken = services.availability_take(merchant=m, consumer=SHORT_ORDERS)
    holding, release = threading.Event(), threading.Event()

    def re_mark() -> None:  # a stock change whose transaction holds the mark's row while the push acknowledges
        try:
            with tenant_scope(m), transaction.atomic():
                services.stock_adjust(merchant=m, product_id=product.pk, delta=1, reason="received")
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    other = threading.Thread(target=re_mark)
    other.start()
    assert holding.wait(10)
    threading.Timer(0.5, release.set).start()
    with tenant_scope(m):
        left = services.availability_ack(merchant=m, consumer=SHORT_ORDERS, marks=taken)
    other.join(10)

    assert left == 1
    with tenant_scope(m):
        mark = AvailabilityMark.objects.get(merchant=m, consumer=SHORT_ORDERS)
        assert mark.claimed_until is None  # the next run takes it
        assert [mk.pk for mk in services.availability_take(merchant=m, consumer=SHORT_ORDERS)] == [mark.pk]
