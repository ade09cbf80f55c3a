"""Reserve, release, ship and return through the services, as the orders app calls them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tenancy import tenant_scope
from inventory import selectors, services
from inventory.errors import InvalidStockOperation, OutOfStock, UnknownSku
from inventory.models import AvailabilityMark, Location, StockLevel, StockMovement
from inventory.registry import AvailabilityConsumer, availability_consumers
from inventory.services import ReserveRequest
from tests.inventory.helpers import make_bundle, make_product

pytestmark = pytest.mark.django_db


def level(merchant, product, location=None):
    location = location or Location.objects.get(merchant=merchant, is_default=True)
    return StockLevel.objects.get(merchant=merchant, product=product, location=location)


def test_new_merchant_has_one_default_location(scope_a):
    locations = list(Location.objects.filter(merchant=scope_a.merchant))
    assert [(loc.name, loc.code, loc.is_default) for loc in locations] == [("Main warehouse", "MAIN", True)]


def test_reserve_all_or_nothing_raises_out_of_stock_and_changes_nothing(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=5)
    b = make_product(m, "B-1", on_hand=1)
    with pytest.raises(OutOfStock) as err:
        services.stock_reserve(merchant=m, requests=[
            ReserveRequest(product_id=a.pk, quantity=2, reference="order_line:1"),
            ReserveRequest(product_id=b.pk, quantity=3, reference="order_line:2"),
        ])
    assert (err.value.sku, err.value.requested, err.value.available) == ("B-1", 3, 1)
    assert err.value.code == "out_of_stock" and err.value.status_code == 409
    assert err.value.details == {"sku": "B-1", "requested": 3, "available": 1}
    assert (level(m, a).reserved, level(m, b).reserved) == (0, 0)
    assert selectors.stock_reserved_for(merchant=m, reference="order_line:1") == 0


def test_reserve_partial_takes_what_there_is(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=2)
    got = services.stock_reserve(
        merchant=m, partial=True, requests=[ReserveRequest(product_id=a.pk, quantity=5, reference="order_line:9")]
    )
    assert got == {"order_line:9": 2}
    assert selectors.stock_reserved_for(merchant=m, reference="order_line:9") == 2
    assert selectors.product_available(merchant=m, product_id=a.pk) == 0
    again = services.stock_reserve(
        merchant=m, partial=True, requests=[ReserveRequest(product_id=a.pk, quantity=3, reference="order_line:9")]
    )
    assert again == {"order_line:9": 0}


def test_reserve_prefers_default_location_then_others(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=2)
    second = services.location_create(merchant=m, name="Overflow", code="OVR")
    services.stock_adjust(merchant=m, product_id=a.pk, delta=5, location_id=second.pk)
    services.stock_reserve(merchant=m, requests=[ReserveRequest(product_id=a.pk, quantity=4, reference="r1")])
    assert level(m, a).reserved == 2
    assert level(m, a, second).reserved == 2
    assert selectors.product_available(merchant=m, product_id=a.pk) == 3


def test_release_is_idempotent_and_partial(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    services.stock_reserve(merchant=m, requests=[ReserveRequest(product_id=a.pk, quantity=6, reference="r1")])
    assert services.stock_release(merchant=m, reference="r1", quantity=2) == 2
    assert selectors.stock_reserved_for(merchant=m, reference="r1") == 4
    assert services.stock_release(merchant=m, reference="r1") == 4
    assert services.stock_release(merchant=m, reference="r1") == 0
    assert services.stock_release(merchant=m, reference="never-reserved") == 0
    assert (level(m, a).on_hand, level(m, a).reserved) == (10, 0)


def test_ship_consumes_reservation_then_free_stock(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    services.stock_reserve(merchant=m, requests=[ReserveRequest(product_id=a.pk, quantity=3, reference="r1")])
    services.stock_ship(merchant=m, reference="r1", product_id=a.pk, quantity=5, shipment_reference="shp-1")
    lv = level(m, a)
    assert (lv.on_hand, lv.reserved) == (5, 0)
    assert selectors.stock_reserved_for(merchant=m, reference="r1") == 0
    with pytest.raises(OutOfStock) as err:
        services.stock_ship(merchant=m, reference="r1", product_id=a.pk, quantity=6)
    assert (err.value.requested, err.value.available) == (6, 5)
    shipped = StockMovement.objects.filter(merchant=m, reason="shipped").order_by("id")
    assert [(s.on_hand_delta, s.reserved_delta, s.reference, s.note) for s in shipped] == [
        (-3, -3, "r1", "shipment shp-1"), (-2, 0, "r1", "shipment shp-1"),
    ]


def test_return_restocks_or_only_records(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=1)
    services.stock_return(merchant=m, product_id=a.pk, quantity=2, reference="r1")
    services.stock_return(merchant=m, product_id=a.pk, quantity=1, reference="r2", restock=False)
    assert level(m, a).on_hand == 3
    returned = StockMovement.objects.filter(merchant=m, reason="returned").order_by("id")
    assert [(r.on_hand_delta, r.reference) for r in returned] == [(2, "r1"), (0, "r2")]


def test_bundle_availability_follows_components_and_cannot_oversell(scope_a):
    # given a bundle of 2×A + 1×B, with A=7 and B=5
    m = scope_a.merchant
    a = make_product(m, "A", on_hand=7)
    b = make_product(m, "B", on_hand=5)
    kit = make_bundle(m, "KIT", [(a, 2), (b, 1)])
    assert selectors.product_available(merchant=m, product_id=kit.pk) == 3
    # when A is sold alone, the bundle's availability follows
    services.stock_reserve(merchant=m, requests=[ReserveRequest(product_id=a.pk, quantity=2, reference="solo-a")])
    assert selectors.product_available(merchant=m, product_id=kit.pk) == 2
    # then reserving 2 kits reserves 4 A and 2 B under one reference
    assert services.stock_reserve(
        merchant=m, requests=[ReserveRequest(product_id=kit.pk, quantity=2, reference="kit-1")]
    ) == {"kit-1": 2}
    assert selectors.stock_reserved_for(merchant=m, reference="kit-1") == 2
    assert (level(m, a).reserved, level(m, b).reserved) == (6, 2)
    assert selectors.product_available(merchant=m, product_id=kit.pk) == 0
    # and a third kit would need 2 A where 1 is left
    with pytest.raises(OutOfStock) as err:
        services.stock_reserve(merchant=m, requests=[ReserveRequest(product_id=kit.pk, quantity=1, reference="kit-2")])
    assert (err.value.sku, err.value.requested, err.value.available) == ("KIT", 1, 0)
    # the single A left can still be sold alone, and then nothing more
    services.stock_reserve(merchant=m, requests=[ReserveRequest(product_id=a.pk, quantity=1, reference="solo-a2")])
    with pytest.raises(OutOfStock):
        services.stock_reserve(merchant=m, requests=[ReserveRequest(product_id=a.pk, quantity=1, reference="solo-a3")])
    # shipping one kit ships its components; releasing the other frees them
    services.stock_ship(merchant=m, reference="kit-1", product_id=kit.pk, quantity=1)
    assert (level(m, a).on_hand, level(m, b).on_hand) == (5, 4)
    assert services.stock_release(merchant=m, reference="kit-1") == 1
    assert (level(m, a).reserved, level(m, b).reserved) == (3, 0)
    assert selectors.audit_differences(merchant=m) == []


def test_same_sku_in_bundle_and_alone_in_one_call_is_counted_once(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A", on_hand=3)
    b = make_product(m, "B", on_hand=3)
    kit = make_bundle(m, "KIT", [(a, 2), (b, 1)])
    with pytest.raises(OutOfStock) as err:
        services.stock_reserve(merchant=m, requests=[
            ReserveRequest(product_id=kit.pk, quantity=1, reference="x1"),
            ReserveRequest(product_id=a.pk, quantity=2, reference="x2"),
        ])
    assert (err.value.sku, err.value.available) == ("A", 1)


def test_backorder_product_reserves_beyond_on_hand(scope_a):
    m = scope_a.merchant
    a = make_product(m, "PRE-1", on_hand=1, allows_backorder=True)
    services.stock_reserve(merchant=m, requests=[ReserveRequest(product_id=a.pk, quantity=4, reference="pre")])
    lv = level(m, a)
    assert (lv.on_hand, lv.reserved) == (1, 4)
    assert selectors.audit_differences(merchant=m) == []


def test_other_merchants_product_is_unknown(scope_a, merchant_b):
    from accounts.tenancy import tenant_scope

    with tenant_scope(merchant_b.merchant):
        theirs = make_product(merchant_b.merchant, "B-ONLY", on_hand=5)
    with pytest.raises(UnknownSku):
        services.stock_reserve(
            merchant=scope_a.merchant, requests=[ReserveRequest(product_id=theirs.pk, quantity=1, reference="r")]
        )


def test_product_map_by_sku_is_case_insensitive(scope_a):
    m = scope_a.merchant
    a = make_product(m, "Mug-Blue")
    assert selectors.product_map_by_sku(merchant=m, skus=["mug-BLUE", "nope"]) == {"mug-blue": a}


def test_availability_outbox_marks_product_and_bundles_and_coalesces(scope_a):
    with availability_consumers.registered("pusher", AvailabilityConsumer("pusher")):
        _marks_product_and_bundles_and_coalesce(scope_a.merchant)


def _marks_product_and_bundles_and_coalesce(m):
    a = make_product(m, "A", on_hand=4)
    b = make_product(m, "B", on_hand=4)
    kit = make_bundle(m, "KIT", [(a, 1), (b, 1)])
    taken = services.availability_take(merchant=m, consumer="orders")
    services.availability_ack(merchant=m, consumer="orders", marks=taken)
    assert services.availability_take(merchant=m, consumer="orders") == []
    services.stock_adjust(merchant=m, product_id=a.pk, delta=1)
    services.stock_adjust(merchant=m, product_id=a.pk, delta=1)
    taken = services.availability_take(merchant=m, consumer="orders")
    assert sorted(mk.product_id for mk in taken) == sorted([a.pk, kit.pk])
    # a change after taking re-marks: the ack must not delete it
    services.stock_adjust(merchant=m, product_id=a.pk, delta=1)
    services.availability_ack(merchant=m, consumer="orders", marks=taken)
    assert sorted(mk.product_id for mk in services.availability_take(merchant=m, consumer="orders")) == sorted([a.pk, kit.pk])
    # another registered consumer has its own marks
    assert {mk.product_id for mk in services.availability_take(merchant=m, consumer="pusher")} == {
        a.pk, b.pk, kit.pk,
    }


def test_only_registered_availability_consumers_get_marks(scope_a):
    # given the registered consumers: orders (short orders) and channels (integrations' stock push)
    m = scope_a.merchant
    a = make_product(m, "A", on_hand=4)
    AvailabilityMark.objects.filter(merchant=m).delete()
    # when stock changes, then only they are marked: no mark piles up for a consumer nobody runs
    services.stock_adjust(merchant=m, product_id=a.pk, delta=1)
    assert sorted(AvailabilityMark.objects.filter(merchant=m).values_list("consumer", "product_id")) == [
        ("channels", a.pk), ("orders", a.pk)]
    # when another app registers a consumer, then it is marked too from the next change on
    with availability_consumers.registered("pusher", AvailabilityConsumer("pusher")):
        services.stock_adjust(merchant=m, product_id=a.pk, delta=1)
    assert sorted(AvailabilityMark.objects.filter(merchant=m).values_list("consumer", "product_id")) == [
        ("channels", a.pk), ("orders", a.pk), ("pusher", a.pk)]


def test_backorders_cannot_be_turned_off_while_more_is_promised_than_on_hand(scope_a):

    m = scope_a.merchant
    a = make_product(m, "PRE-1", on_hand=1, allows_backorder=True)
    services.stock_reserve(merchant=m, requests=[ReserveRequest(product_id=a.pk, quantity=3, reference="pre")])
    with pytest.raises(InvalidStockOperation):
        services.product_update(merchant=m, product=a, allows_backorder=False)
    assert level(m, a).allows_backorder is True
    services.stock_adjust(merchant=m, product_id=a.pk, delta=2, reason="received")
    services.product_update(merchant=m, product=a, allows_backorder=False)
    assert level(m, a).allows_backorder is False
    with pytest.raises(OutOfStock):
        services.stock_reserve(merchant=m, requests=[ReserveRequest(product_id=a.pk, quantity=1, reference="more")])


def test_one_reference_holds_one_product(scope_a):

    m = scope_a.merchant
    a = make_product(m, "A", on_hand=5)
    b = make_product(m, "B", on_hand=5)
    services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "line:1")])
    with pytest.raises(InvalidStockOperation):
        services.stock_reserve(merchant=m, requests=[ReserveRequest(b.pk, 1, "line:1")])
    with pytest.raises(InvalidStockOperation):
        services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "line:2"), ReserveRequest(b.pk, 1, "line:2")])
    # the same product under the same reference tops up
    assert services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 2, "line:1")]) == {"line:1": 2}
    assert selectors.stock_reserved_for(merchant=m, reference="line:1") == 3


def test_resolving_skus_gives_products_in_order_or_names_every_unknown_one(scope_a, merchant_b):
    m = scope_a.merchant
    a = make_product(m, "Mug-Blue")
    b = make_product(m, "B-1")
    with tenant_scope(merchant_b.merchant):
        make_product(merchant_b.merchant, "THEIRS")
    # SKUs as typed (any case, padded, repeated) become the merchant's products, in the order given
    assert selectors.product_resolve_skus(merchant=m, skus=[" b-1", "mug-BLUE", "B-1"]) == [b, a, b]
    # another merchant's SKU is as unknown as one nobody has; every unknown one is named once
    with pytest.raises(UnknownSku) as err:
        selectors.product_resolve_skus(merchant=m, skus=["B-1", "THEIRS", "nope", "THEIRS"])
    assert (err.value.code, err.value.message, err.value.details) == (
        "unknown_sku", "Unknown SKU: THEIRS, nope.", {"sku": "THEIRS", "skus": ["THEIRS", "nope"], "index": 1, "row": 2})


def test_stock_apply_ships_returns_and_holds_targets_in_one_call(scope_a):
    # given r1 holding 3 A, r2 holding 2 B, r3 holding nothing
    m = scope_a.merchant
    a = make_product(m, "A", on_hand=10)
    b = make_product(m, "B", on_hand=10)
    c = make_product(m, "C", on_hand=4)
    services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 3, "r1"), ReserveRequest(b.pk, 2, "r2")])
    # when one call ships 2 of r1, returns 1 B under r9, holds r1 at 0, r2 at 5 and r3 (C) at 6, partially
    got = services.stock_apply(
        merchant=m, note="shipment:7",
        ships=[services.ShipRequest(reference="r1", product_id=a.pk, quantity=2)],
        returns=[services.ReturnRequest(reference="r9", product_id=b.pk, quantity=1)],
        holds=[services.HoldTarget("r1", a.pk, 0), services.HoldTarget("r2", b.pk, 5),
               services.HoldTarget("r3", c.pk, 6)],
    )
    # then each reference reports what it reserved, released and holds; the levels and the ledger agree
    assert {k: (v.reserved, v.released, v.held) for k, v in got.items()} == {
        "r1": (0, 1, 0), "r2": (3, 0, 5), "r3": (4, 0, 4)}
    assert [(level(m, p).on_hand, level(m, p).reserved) for p in (a, b, c)] == [(8, 0), (11, 5), (4, 4)]
    assert selectors.audit_differences(merchant=m) == []
    # and holding the same targets again changes nothing
    before = StockMovement.objects.filter(merchant=m).count()
    again = services.stock_apply(merchant=m, holds=[services.HoldTarget("r2", b.pk, 5)])
    assert (again["r2"].reserved, again["r2"].released, again["r2"].held) == (0, 0, 5)
    assert StockMovement.objects.filter(merchant=m).count() == before


def test_stock_apply_is_all_or_nothing_when_not_partial(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A", on_hand=10)
    b = make_product(m, "B", on_hand=1)
    services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 2, "r1")])
    with pytest.raises(OutOfStock) as err:
        services.stock_apply(merchant=m, partial=False, holds=[
            services.HoldTarget("r1", a.pk, 0), services.HoldTarget("r2", b.pk, 3)])
    assert (err.value.sku, err.value.requested, err.value.available) == ("B", 3, 1)
    assert (level(m, a).reserved, level(m, b).reserved) == (2, 0)


def test_a_hold_for_another_product_gives_back_what_the_reference_held(scope_a):
    # given a line that held 2 A and was matched again to B (its SKU changed on the channel)
    m = scope_a.merchant
    a = make_product(m, "A", on_hand=5)
    b = make_product(m, "B", on_hand=5)
    services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 2, "line:1")])
    got = services.stock_apply(merchant=m, holds=[services.HoldTarget("line:1", b.pk, 3)])
    assert (got["line:1"].released, got["line:1"].reserved, got["line:1"].held) == (2, 3, 3)
    assert (level(m, a).reserved, level(m, b).reserved) == (0, 3)
    # and a hold of nothing (no product) gives everything back
    got = services.stock_apply(merchant=m, holds=[services.HoldTarget("line:1", None, 0)])
    assert (got["line:1"].released, got["line:1"].held, level(m, b).reserved) == (3, 0, 0)
    assert selectors.audit_differences(merchant=m) == []


def test_a_bundle_held_under_its_old_components_ships_and_releases_those(scope_a):
    # given 2 kits held as 1×A+1×B each, then the kit's bill changed to 1×A+1×C
    m = scope_a.merchant
    a, b, c = (make_product(m, s, on_hand=10) for s in ("A", "B", "C"))
    kit = make_bundle(m, "KIT", [(a, 1), (b, 1)])
    services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 2, "k1")])
    services.bundle_set_components(merchant=m, bundle=kit, components=[(a.pk, 1), (c.pk, 1)])
    # when one ships and the hold goes to 0, what was promised (A and B) moves, never C
    services.stock_apply(merchant=m, ships=[services.ShipRequest("k1", kit.pk, 1)],
                         holds=[services.HoldTarget("k1", kit.pk, 0)])
    assert [(level(m, p).on_hand, level(m, p).reserved) for p in (a, b, c)] == [(9, 0), (9, 0), (10, 0)]
    assert selectors.audit_differences(merchant=m) == []


def test_a_bundle_reserved_before_its_components_changed_ships_what_was_reserved(scope_a):
    from inventory import selectors
    from inventory.models import Reservation
    from inventory.services import ReserveRequest

    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    kit = make_bundle(m, "KIT", [(a, 2)])
    # given an order line holding one kit (two A-1)
    services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 1, "order_line:1")])
    # when the kit's components change before it ships
    services.product_update(merchant=m, product=kit, components=[(b.pk, 1)])
    services.stock_ship(merchant=m, reference="order_line:1", product_id=kit.pk, quantity=1)
    # then the two A-1 that were promised leave, nothing stays reserved, B-1 is untouched
    levels = {lv.product.sku: (lv.on_hand, lv.reserved) for lv in StockLevel.objects.filter(merchant=m)
              .select_related("product")}
    assert levels == {"A-1": (8, 0), "B-1": (10, 0)}
    assert not Reservation.objects.filter(merchant=m).exists()
    assert selectors.audit_differences(merchant=m) == []


def test_topping_up_a_bundle_reserved_before_its_components_changed_keeps_one_bill_of_materials(scope_a):
    from inventory import selectors
    from inventory.services import ReserveRequest

    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    b = make_product(m, "B-1", on_hand=10)
    kit = make_bundle(m, "KIT", [(a, 2)])
    services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 1, "order_line:1")])
    services.product_update(merchant=m, product=kit, components=[(b.pk, 1)])
    # when the order line asks for one more kit under the same reference
    assert services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 1, "order_line:1")]) == {
        "order_line:1": 1}
    # then the reference still counts whole kits of one kind, and releasing gives everything back
    assert selectors.stock_reserved_for(merchant=m, reference="order_line:1") == 2
    assert services.stock_release(merchant=m, reference="order_line:1") == 2
    levels = {lv.product.sku: (lv.on_hand, lv.reserved) for lv in StockLevel.objects.filter(merchant=m)
              .select_related("product")}
    assert levels == {"A-1": (10, 0), "B-1": (10, 0)}
    assert selectors.audit_differences(merchant=m) == []


def test_consumers_hear_of_marks_after_commit_and_a_failing_hook_fails_nothing(
        scope_a, django_capture_on_commit_callbacks):
    m = scope_a.merchant
    a = make_product(m, "A", on_hand=4)
    heard: list[int] = []

    def broken(merchant_id: int) -> None:
        raise RuntimeError("broker down")

    with availability_consumers.registered("listener", AvailabilityConsumer("listener", on_marked=heard.append)), \
            availability_consumers.registered("broken", AvailabilityConsumer("broken", on_marked=broken)):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.stock_adjust(merchant=m, product_id=a.pk, delta=1)
            assert heard == []  # not before the commit
        for callback in callbacks:
            callback()

    assert heard == [m.pk]
    assert StockLevel.objects.get(merchant=m, product=a).on_hand == 5
    assert AvailabilityMark.objects.filter(merchant=m, consumer="listener", product=a).exists()


@pytest.mark.parametrize("call", ["stock_apply", "stock_lock", "stock_reserve"])
def test_another_merchants_product_info_is_not_trusted(scope_a, merchant_b, call):
    """Given merchant B's product described as a ProductInfo, when A's caller passes it as an already-loaded
    product, then inventory reads A's products itself (B's id is an UnknownSku) and nothing is written."""
    with tenant_scope(merchant_b.merchant):
        theirs = make_product(merchant_b.merchant, "B-INFO", on_hand=5)
        info = selectors.ProductInfo.of(theirs)
    m = scope_a.merchant
    assert info.merchant_id == merchant_b.merchant.pk
    before = (StockLevel.objects.filter(merchant=m).count(), StockMovement.objects.filter(merchant=m).count())
    with pytest.raises(UnknownSku):
        if call == "stock_apply":
            services.stock_apply(merchant=m, holds=[services.HoldTarget(reference="r", product_id=theirs.pk,
                                                                         quantity=1)], products={theirs.pk: info})
        elif call == "stock_lock":
            services.stock_lock(merchant=m, product_ids=[theirs.pk], products={theirs.pk: info})
        else:
            services.stock_reserve(merchant=m, requests=[ReserveRequest(product_id=theirs.pk, quantity=1,
                                                                        reference="r")], products={theirs.pk: info})
    assert (StockLevel.objects.filter(merchant=m).count(), StockMovement.objects.filter(merchant=m).count()) == before
    with tenant_scope(merchant_b.merchant):
        assert level(merchant_b.merchant, theirs).reserved == 0


def test_own_product_info_is_used_without_reading_the_product_again(scope_a):
    """A ProductInfo the merchant's own selector gave is trusted: the hold reads no product row."""
    m = scope_a.merchant
    mine = make_product(m, "A-INFO", on_hand=5)
    info = selectors.product_match_sku_infos(merchant=m, skus=["a-info"])["a-info"]
    assert info == selectors.ProductInfo.of(mine) and info.merchant_id == m.pk
    with CaptureQueriesContext(connection) as ctx:
        services.stock_apply(merchant=m, holds=[services.HoldTarget(reference="r", product_id=mine.pk, quantity=2)],
                             products={mine.pk: info}, fresh=True)
    assert level(m, mine).reserved == 2
    product_reads = [q["sql"] for q in ctx.captured_queries
                     if q["sql"].lstrip().upper().startswith("SELECT") and 'FROM "inventory_product"' in q["sql"]]
    assert product_reads == []
