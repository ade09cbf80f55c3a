"""Opening stock: two stores matching the same new product at once open it once (the product row is locked
before its history is read), and a product with any movement is never opened."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from inventory import services
from inventory.models import StockLevel, StockMovement
from tests.inventory.helpers import make_product
from tests.inventory.test_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_stores_opening_the_same_product_at_once_open_it_once(merchant_a):
    m = merchant_a.merchant
    for attempt in range(4):  # a race: several rounds make the overlap likely
        with tenant_scope(m):
            product = make_product(m, f"NEW-{attempt}")

        def open_from(i: int, product=product):
            with tenant_scope(m):
                return services.stock_opening(merchant=m, product_id=product.pk, quantity=10 + i,
                                              reference=f"integration:{i}")

        results = run_threads(4, open_from)

        assert not [r for r in results if isinstance(r, Exception)], results
        assert sorted(r > 0 for r in results) == [False, False, False, True]
        with tenant_scope(m):
            (movement,) = StockMovement.objects.filter(merchant=m, product=product)
            assert movement.reason == "opening"
            assert StockLevel.objects.get(merchant=m, product=product).on_hand == movement.on_hand_delta


def test_a_product_with_a_history_is_never_opened(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        product = make_product(m, "OLD", on_hand=3)

        assert services.stock_opening(merchant=m, product_id=product.pk, quantity=52, reference="integration:1") == 0

        assert StockLevel.objects.get(merchant=m, product=product).on_hand == 3
        assert list(StockMovement.objects.filter(merchant=m, product=product).values_list("reason", flat=True)) == [
            "received"]
