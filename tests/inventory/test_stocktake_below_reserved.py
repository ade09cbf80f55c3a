"""A count is a fact: a stocktake below what is reserved is recorded, the newest reservations give way,
their orders go short, and stock arriving later refills them (oldest first) through the allocator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from inventory import services as inventory_services
from inventory.errors import InvalidStockOperation, OutOfStock
from inventory.models import Reservation, StockMovement
from orders import services
from orders.models import Order, OrderEvent, OrderLine
from tests.inventory.helpers import make_bundle, make_product
from tests.orders.helpers import T0, level, normalized

pytestmark = pytest.mark.django_db


def _order(m, external_id: str, hours: int, lines=(("L1", "A-1", 2),)) -> Order:
    return services.order_ingest(merchant=m, integration_id=None, normalized=normalized(
        external_id, lines=lines, placed_at=T0 + timedelta(hours=hours))).order


def _line(order: Order) -> OrderLine:
    return OrderLine.objects.get(merchant=order.merchant_id, order=order)


def test_a_count_below_reserved_releases_the_newest_first_and_the_allocator_refills(scope_a, capsys):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=5)
    # given two orders reserving 2 each; the newer one was ingested first (placed_at decides, not ids)
    newer = _order(m, "2", hours=2)
    older = _order(m, "1", hours=1)
    assert level(m, a).reserved == 4
    # when the shelf is counted at 3 (one fewer than the 4 promised)
    released = inventory_services.stock_set_count(merchant=m, product_id=a.pk, on_hand=3, note="shelf count")
    assert released == 1
    # then the count is recorded, and only the newest order gave way, by just what was needed
    lv = level(m, a)
    assert (lv.on_hand, lv.reserved) == (3, 3)
    assert _line(older).quantity_reserved == 2
    assert _line(newer).quantity_reserved == 1
    newer.refresh_from_db()
    older.refresh_from_db()
    assert newer.is_short and newer.went_short_at is not None
    assert not older.is_short
    event = OrderEvent.objects.filter(merchant=m, order=newer, kind=OrderEvent.Kind.SHORT).last()
    assert "stocktake" in event.message
    assert StockMovement.objects.filter(merchant=m, product=a, reason="stocktake").get().on_hand_delta == -2
    assert StockMovement.objects.filter(merchant=m, product=a, reason="released",
                                        reference=f"order_line:{_line(newer).pk}").get().reserved_delta == -1
    call_command("inventory_audit")
    assert "every level reconciles" in capsys.readouterr().out
    # when a count of 0 follows, both give way (newest first, then the older one)
    inventory_services.stock_set_count(merchant=m, product_id=a.pk, on_hand=0)
    assert [_line(o).quantity_reserved for o in (older, newer)] == [0, 0]
    assert Order.objects.filter(merchant=m, is_short=True).count() == 2
    # when stock arrives, the allocator refills the short orders, oldest first
    inventory_services.stock_adjust(merchant=m, product_id=a.pk, delta=3)
    services.short_orders_allocate(merchant=m)
    assert _line(older).quantity_reserved == 2
    assert _line(newer).quantity_reserved == 1
    older.refresh_from_db()
    assert not older.is_short
    assert level(m, a).reserved == 3
    call_command("inventory_audit")
    assert "every level reconciles" in capsys.readouterr().out


def test_only_the_counted_location_gives_way(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=2)
    shop = inventory_services.location_create(merchant=m, name="Shop", code="SHOP")
    inventory_services.stock_adjust(merchant=m, product_id=a.pk, delta=2, location_id=shop.pk)
    order = _order(m, "1", hours=1, lines=(("L1", "A-1", 4),))  # 2 at the default location, 2 at the shop
    inventory_services.stock_set_count(merchant=m, product_id=a.pk, on_hand=1, location_id=shop.pk)
    held = dict(Reservation.objects.filter(merchant=m, product=a).values_list("location_id", "quantity"))
    assert held[shop.pk] == 1 and sum(held.values()) == 3
    assert _line(order).quantity_reserved == 3


def test_a_bundle_line_gives_back_whole_bundles(scope_a, capsys):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=4)
    b = make_product(m, "B-1", on_hand=2)
    make_bundle(m, "KIT", [(a, 2), (b, 1)])
    order = _order(m, "1", hours=1, lines=(("L1", "KIT", 2),))  # 4 A + 2 B
    inventory_services.stock_set_count(merchant=m, product_id=a.pk, on_hand=3)
    assert _line(order).quantity_reserved == 1
    assert (level(m, a).reserved, level(m, b).reserved) == (2, 1)
    order.refresh_from_db()
    assert order.is_short
    call_command("inventory_audit")
    assert "every level reconciles" in capsys.readouterr().out


def test_a_change_still_cannot_take_promised_units(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=2)
    _order(m, "1", hours=1)
    with pytest.raises(OutOfStock):
        inventory_services.stock_adjust(merchant=m, product_id=a.pk, delta=-1, reason="damaged")


@pytest.mark.parametrize(("delta", "reason"), [(5, "received"), (-2, "correction")])
def test_the_default_reason_follows_the_sign(scope_a, delta, reason):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=3)
    inventory_services.stock_adjust(merchant=m, product_id=a.pk, delta=delta)
    assert StockMovement.objects.filter(merchant=m, product=a).first().reason == reason


@pytest.mark.parametrize(("delta", "reason"), [(-1, "received"), (-1, "found"), (2, "damaged"), (2, "lost")])
def test_a_reason_against_the_sign_is_refused(scope_a, delta, reason):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=3)
    with pytest.raises(InvalidStockOperation, match="quantity or another reason"):
        inventory_services.stock_adjust(merchant=m, product_id=a.pk, delta=delta, reason=reason)


def test_the_old_adjustment_reason_is_recorded_as_a_correction(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=3)
    inventory_services.stock_adjust(merchant=m, product_id=a.pk, delta=-1, reason="adjustment")
    assert StockMovement.objects.filter(merchant=m, product=a).first().reason == "correction"


def test_the_adjust_form_defaults_the_reason_by_sign_and_refuses_a_contrary_one(merchant_a):
    from accounts.tenancy import tenant_scope
    from inventory.models import Location

    m, web = merchant_a.merchant, merchant_a.web
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=5)
        main = Location.objects.get(merchant=m, is_default=True)
    url = f"/inventory/products/{a.pk}/adjust/"
    assert web.post(url, {"location": main.pk, "mode": "delta", "quantity": "-2", "reason": ""}).status_code == 302
    assert web.post(url, {"location": main.pk, "mode": "delta", "quantity": "4"}).status_code == 302
    r = web.post(url, {"location": main.pk, "mode": "delta", "quantity": "3", "reason": "damaged"})
    assert r.status_code == 400 and "Damaged removes units" in r.content.decode()
    assert web.post(url, {"location": main.pk, "mode": "delta", "quantity": "-1", "reason": "lost"}).status_code == 302
    with tenant_scope(m):
        got = list(StockMovement.objects.filter(merchant=m, product=a).order_by("id").values_list("reason", flat=True))
    assert got == ["received", "correction", "received", "lost"]
    page = web.get(f"/inventory/products/{a.pk}/").content.decode()
    assert 'value="found"' in page and "js/stock.js" in page


def test_the_count_form_records_a_count_below_reserved_and_says_what_gave_way(merchant_a):
    from accounts.tenancy import tenant_scope
    from inventory.models import Location

    m, web = merchant_a.merchant, merchant_a.web
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=5)
        order = _order(m, "1", hours=1, lines=(("L1", "A-1", 4),))
        main = Location.objects.get(merchant=m, is_default=True)
    r = web.post(f"/inventory/products/{a.pk}/adjust/", {"location": main.pk, "mode": "count", "quantity": "1"},
                 follow=True)
    assert r.status_code == 200
    assert "3 reserved units released from the newest orders" in r.content.decode()
    with tenant_scope(m):
        assert _line(order).quantity_reserved == 1
        assert (level(m, a).on_hand, level(m, a).reserved) == (1, 1)
