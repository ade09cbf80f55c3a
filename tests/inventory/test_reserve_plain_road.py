"""stock_reserve's road for plain products (one locking read with the products, one write that adds to the
reference's rows without reading them first): what the general road guaranteed still holds."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from inventory import selectors, services
from inventory.errors import InvalidStockOperation, UnknownSku
from inventory.models import AvailabilityMark, Reservation, StockLevel, StockMovement
from inventory.services import ReserveRequest
from tests.inventory.helpers import make_bundle, make_product

pytestmark = pytest.mark.django_db


def _state(m):
    return (list(StockLevel.objects.filter(merchant=m).order_by("pk").values_list("pk", "on_hand", "reserved")),
            StockMovement.objects.filter(merchant=m).count(),
            list(Reservation.objects.filter(merchant=m).order_by("pk").values_list("reference", "product_id",
                                                                                    "unit_product_id", "quantity")))


def test_reserving_again_under_a_reference_adds_to_its_row(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    for _ in range(2):
        assert services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 3, "order_line:1")]) == {
            "order_line:1": 3}
    assert list(Reservation.objects.filter(merchant=m).values_list("reference", "quantity")) == [("order_line:1", 6)]
    assert selectors.product_available(merchant=m, product_id=a.pk) == 4
    assert selectors.audit_differences(merchant=m) == []
    assert AvailabilityMark.objects.filter(merchant=m, product=a).exists()


def test_a_reference_holding_a_bundle_refuses_its_component_and_writes_nothing(scope_a):
    # Given a reference that holds a bundle made of A
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    kit = make_bundle(m, "KIT-1", [(a, 2)])
    services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 1, "order_line:7")])
    before = _state(m)
    # When the same reference asks for A itself, in full or partially with nothing left to give
    with pytest.raises(InvalidStockOperation, match="already holds another product"):
        services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "order_line:7")])
    services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 8, "other:1")])
    before = _state(m)
    with pytest.raises(InvalidStockOperation, match="already holds another product"):
        services.stock_reserve(merchant=m, partial=True, requests=[ReserveRequest(a.pk, 1, "order_line:7")])
    # And in full with too little left: the general road's error, the reference's, comes first
    with pytest.raises(InvalidStockOperation, match="already holds another product"):
        services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 5, "order_line:7")])
    # Then nothing was written
    assert _state(m) == before
    assert selectors.audit_differences(merchant=m) == []


def test_bundles_unknown_and_foreign_products_take_the_general_road(scope_a, merchant_b):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=10)
    kit = make_bundle(m, "KIT-1", [(a, 2)])
    got = services.stock_reserve(merchant=m, requests=[ReserveRequest(kit.pk, 2, "k:1"), ReserveRequest(a.pk, 1, "a:1")])
    assert got == {"k:1": 2, "a:1": 1}
    assert selectors.product_available(merchant=m, product_id=a.pk) == 5
    with tenant_scope(merchant_b.merchant):
        foreign = make_product(merchant_b.merchant, "B-1", on_hand=5)
    with pytest.raises(UnknownSku):
        services.stock_reserve(merchant=m, requests=[ReserveRequest(foreign.pk, 1, "f:1")])
    assert selectors.audit_differences(merchant=m) == []


def test_the_default_location_first_then_the_others(scope_a):
    m = scope_a.merchant
    a = make_product(m, "A-1", on_hand=2)
    second = services.location_create(merchant=m, name="Second", code="SEC")
    services.stock_adjust(merchant=m, product_id=a.pk, delta=5, reason="received", location_id=second.pk)
    assert services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 4, "r:1")]) == {"r:1": 4}
    rows = dict(Reservation.objects.filter(merchant=m, reference="r:1").values_list("location_id", "quantity"))
    assert sorted(rows.values()) == [2, 2]
    assert services.stock_reserve(merchant=m, requests=[ReserveRequest(a.pk, 1, "r:1")]) == {"r:1": 1}
    assert selectors.stock_reserved_for(merchant=m, reference="r:1") == 5
    assert selectors.audit_differences(merchant=m) == []
