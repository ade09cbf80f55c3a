"""Ingest: idempotent upsert, out-of-order updates, reservations by difference, channel cancel, short orders."""

from __future__ import annotations

import pytest

from inventory.models import StockMovement
from orders import services
from orders.models import Order, OrderEvent, OrderLine, OrderStatus
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import level, normalized, reserved_for

pytestmark = pytest.mark.django_db


def test_same_payload_five_times_gives_one_order_and_one_reservation(scope_a):
    # given a product with 10 on hand
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    # when the same order is ingested five times
    outcomes = [services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).outcome for _ in range(5)]
    # then one order, one line, one reservation of 2
    assert outcomes == ["created", "unchanged", "unchanged", "unchanged", "unchanged"]
    assert Order.objects.filter(merchant=m).count() == 1
    line = OrderLine.objects.get(merchant=m)
    assert (line.quantity, line.quantity_reserved, line.product_id) == (2, 2, a.pk)
    assert reserved_for(m, line) == 2
    assert level(m, a).reserved == 2
    assert StockMovement.objects.filter(merchant=m, reference=f"order_line:{line.pk}").count() == 1


def test_older_update_arriving_late_is_ignored(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=10)
    # given version 2 (quantity 5) applied first
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 5),), updated_minutes=10))
    # when version 1 (quantity 2) arrives late
    result = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(updated_minutes=0))
    # then it changes nothing
    assert result.outcome == "stale"
    line = OrderLine.objects.get(merchant=m)
    assert (line.quantity, line.quantity_reserved) == (5, 5)
    assert reserved_for(m, line) == 5
    assert OrderEvent.objects.filter(merchant=m, kind=OrderEvent.Kind.STALE_IGNORED).count() == 1


def test_quantity_change_moves_the_reservation_by_the_difference(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 2),)))
    line = OrderLine.objects.get(merchant=m)
    # when the channel raises the quantity to 5, then lowers it to 3
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 5),), updated_minutes=1))
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 3),), updated_minutes=2))
    # then the ledger shows +2, +3, -2 under the line's reference and 3 are held
    deltas = list(StockMovement.objects.filter(merchant=m, reference=f"order_line:{line.pk}")
                  .order_by("id").values_list("reserved_delta", flat=True))
    assert deltas == [2, 3, -2]
    line.refresh_from_db()
    assert (line.quantity, line.quantity_reserved, reserved_for(m, line), level(m, a).reserved) == (3, 3, 3, 3)


def test_removed_line_releases_and_added_line_reserves(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 2),)))
    services.order_ingest(merchant=m, integration_id=None,
                          normalized=normalized(lines=(("L2", "B-1", 4),), updated_minutes=1))
    lines = {li.sku: li for li in OrderLine.objects.filter(merchant=m)}
    assert (lines["A-1"].quantity_cancelled, lines["A-1"].quantity_reserved) == (2, 0)
    assert lines["B-1"].quantity_reserved == 4
    assert (level(m, a).reserved, level(m, b).reserved) == (0, 4)


def test_cancellation_from_the_channel_releases_everything(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 4),)))
    # when the channel cancels
    result = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        lines=(("L1", "A-1", 4),), updated_minutes=5, cancelled=True))
    # then the order is cancelled and nothing is held
    order = result.order
    order.refresh_from_db()
    line = OrderLine.objects.get(merchant=m)
    assert order.status == OrderStatus.CANCELLED
    assert (line.quantity_cancelled, line.quantity_reserved, reserved_for(m, line)) == (4, 0, 0)
    assert level(m, a).reserved == 0
    assert level(m, a).on_hand == 10


def test_a_channel_order_is_never_refused_it_goes_short(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=3)
    # when 5 are ordered with 3 available
    order = services.order_ingest(merchant=m, integration_id=None,
                                  normalized=normalized(lines=(("L1", "A-1", 5),))).order
    # then 3 are reserved, 2 short, the order flagged
    order.refresh_from_db()
    line = OrderLine.objects.get(merchant=m)
    assert (line.quantity_reserved, line.quantity_short) == (3, 2)
    assert order.is_short is True and order.went_short_at is not None
    assert level(m, a).reserved == 3


def test_short_orders_get_stock_oldest_first_when_it_arrives(scope_a):
    from datetime import timedelta

    from inventory import services as inventory_services
    from orders.tasks import short_orders_allocate_fanout
    from tests.orders.helpers import T0

    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=0)
    newer = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "2", lines=(("L1", "A-1", 2),), placed_at=T0 + timedelta(hours=1))).order
    older = services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        "1", lines=(("L1", "A-1", 2),), placed_at=T0)).order
    # when 3 units arrive and the periodic consumer runs (from outside any scope, as beat does)
    inventory_services.stock_adjust(merchant=m, product_id=a.pk, delta=3, reason="received")
    from accounts.tenancy import unscoped
    with unscoped("test: run the beat task as beat would"):
        assert short_orders_allocate_fanout() == 1
    # then the older order is complete and the newer one got the remaining unit
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.is_short is False
    assert newer.is_short is True
    assert OrderLine.objects.get(merchant=m, order=older).quantity_reserved == 2
    assert OrderLine.objects.get(merchant=m, order=newer).quantity_reserved == 1
    assert level(m, a).reserved == 3


def test_unknown_sku_needs_attention_until_mapped_then_reserves(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    order = services.order_ingest(merchant=m, integration_id=None,
                                  normalized=normalized(lines=(("L1", "WRONG-SKU", 2),))).order
    order.refresh_from_db()
    line = OrderLine.objects.get(merchant=m)
    assert (order.needs_attention, line.product_id, line.quantity_reserved) == (True, None, 0)
    # when the merchant maps the SKU to A-1
    services.order_line_map_sku(merchant=m, line=line, product_sku="a-1")
    order.refresh_from_db()
    line.refresh_from_db()
    assert (order.needs_attention, line.product_id, line.quantity_reserved) == (False, a.pk, 2)
    assert level(m, a).reserved == 2


def test_same_external_id_on_another_integration_is_another_order(scope_a):
    m = scope_a.merchant
    make_product(m, "A-1", on_hand=10)
    first, second = make_integration(m, name="Shop 1"), make_integration(m, name="Shop 2")
    services.order_ingest(merchant=m, integration_id=first.pk, normalized=normalized())
    services.order_ingest(merchant=m, integration_id=second.pk, normalized=normalized())
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized())
    services.order_ingest(merchant=m, integration_id=first.pk, normalized=normalized())
    assert Order.objects.filter(merchant=m).count() == 3


def _movements(m, line) -> list[int]:
    return list(StockMovement.objects.filter(merchant=m, reference=f"order_line:{line.pk}")
                .order_by("id").values_list("reserved_delta", flat=True))


def test_line_without_channel_id_dropped_before_another_keeps_the_other_line_and_its_reservation(scope_a):
    # given lines without channel ids, 2 × A then 3 × B, both reserved
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("", "A-1", 2), ("", "B-1", 3))))
    la, lb = OrderLine.objects.filter(merchant=m).order_by("position")
    # when the channel drops A, so B is now its first line
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("", "B-1", 3),),
                                                                               updated_minutes=1))
    # then B is the same line with the same single reservation, and A is cancelled and released
    assert list(OrderLine.objects.filter(merchant=m).order_by("id").values_list(
        "pk", "quantity_cancelled", "quantity_reserved", "position")) == [(la.pk, 2, 0, 0), (lb.pk, 0, 3, 0)]
    assert (_movements(m, la), _movements(m, lb)) == ([2, -2], [3])
    assert (level(m, a).reserved, level(m, b).reserved) == (0, 3)


def test_reordered_lines_without_ids_change_no_reservation(scope_a):
    # given 2 × A then 3 × B without channel ids
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("", "A-1", 2), ("", "B-1", 3))))
    la, lb = OrderLine.objects.filter(merchant=m).order_by("position")
    # when the channel lists them the other way round
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("", "B-1", 3), ("", "A-1", 2)),
                                                                               updated_minutes=1))
    # then the same two lines follow the channel's order, nothing is cancelled and the ledger did not move
    assert list(OrderLine.objects.filter(merchant=m).order_by("position").values_list(
        "pk", "quantity", "quantity_cancelled", "quantity_reserved")) == [(lb.pk, 3, 0, 3), (la.pk, 2, 0, 2)]
    assert (_movements(m, la), _movements(m, lb)) == ([2], [3])
    assert (level(m, a).reserved, level(m, b).reserved) == (2, 3)


def test_changed_quantity_on_a_line_without_id_moves_its_own_reservation(scope_a):
    # given 2 × A then 3 × B without channel ids
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("", "A-1", 2), ("", "B-1", 3))))
    la, lb = OrderLine.objects.filter(merchant=m).order_by("position")
    # when the channel raises A to 5
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("", "A-1", 5), ("", "B-1", 3)),
                                                                               updated_minutes=1))
    # then A's own line holds 5 (+2, +3) and B is untouched; no line is added or cancelled
    assert list(OrderLine.objects.filter(merchant=m).order_by("id").values_list(
        "pk", "quantity", "quantity_cancelled", "quantity_reserved")) == [(la.pk, 5, 0, 5), (lb.pk, 3, 0, 3)]
    assert (_movements(m, la), _movements(m, lb)) == ([2, 3], [3])
    assert (level(m, a).reserved, level(m, b).reserved) == (5, 3)


def test_a_line_whose_sku_changed_moves_its_reservation_to_the_new_product_in_one_stock_call(scope_a):
    # given line L1 holding 2 of A
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    services.order_ingest(merchant=m, integration_id=None, normalized=normalized(lines=(("L1", "A-1", 2),)))
    line = OrderLine.objects.get(merchant=m)
    # when the channel changes L1's SKU to B, same quantity
    services.order_ingest(merchant=m, integration_id=None,
                          normalized=normalized(lines=(("L1", "B-1", 2),), updated_minutes=5))
    # then A's units went back and B's are held, by the same line, and the ledger agrees
    line.refresh_from_db()
    assert (line.product_id, line.quantity_reserved, reserved_for(m, line)) == (b.pk, 2, 2)
    assert (level(m, a).reserved, level(m, b).reserved) == (0, 2)
    # and when it changes again to a SKU nobody has, everything is given back
    services.order_ingest(merchant=m, integration_id=None,
                          normalized=normalized(lines=(("L1", "NOPE", 2),), updated_minutes=10))
    line.refresh_from_db()
    assert (line.product_id, line.quantity_reserved, reserved_for(m, line)) == (None, 0, 0)
    assert (level(m, a).reserved, level(m, b).reserved) == (0, 0)
