"""Two requests remembering the same new alias at once: both get the one row, neither a 500."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from inventory import services
from inventory.models import SkuAlias
from tests.inventory.helpers import make_product
from tests.inventory.test_concurrency import run_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_new_alias_remembered_at_once_is_one_row_for_both(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        product = make_product(m, "MUG-1", on_hand=5)

    for attempt in range(5):  # a race: several rounds make the losing INSERT likely
        sku = f"shop-mug-{attempt}"

        def remember(_: int, sku=sku):
            with tenant_scope(m):
                return services.sku_alias_remember(merchant=m, sku=sku, product=product).pk

        results = run_threads(4, remember)
        assert not [r for r in results if isinstance(r, Exception)], results
        with tenant_scope(m):
            assert SkuAlias.objects.filter(merchant=m, sku=sku).count() == 1
        assert len(set(results)) == 1
