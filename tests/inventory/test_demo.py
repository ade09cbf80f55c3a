from __future__ import annotations

import pytest

from inventory import demo, selectors
from inventory.models import Product, StockMovement

pytestmark = pytest.mark.django_db


def test_demo_seed_is_believable_and_idempotent(scope_a):
    m = scope_a.merchant
    demo.seed(merchant=m, user=scope_a.user)
    products = Product.objects.filter(merchant=m).count()
    movements = StockMovement.objects.filter(merchant=m).count()
    assert products == len(demo.CATALOG) + len(demo.BUNDLES)
    assert [loc.code for loc in selectors.location_list(merchant=m)] == ["MAIN", "SHOP"]
    assert Product.objects.filter(merchant=m, is_bundle=True).count() == 2
    low = [p.sku for p in selectors.low_stock_list(merchant=m)]
    assert "TEA-CHAI-100" in low and "KETTLE-GOOSE" in low and "MUG-STONE-BLU" not in low
    assert selectors.audit_differences(merchant=m) == []
    demo.seed(merchant=m, user=scope_a.user)
    assert Product.objects.filter(merchant=m).count() == products
    assert StockMovement.objects.filter(merchant=m).count() == movements
