"""The ledger proves the levels: inventory_audit, and a property test over random operation sequences."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tenancy import tenant_scope
from inventory import selectors, services
from inventory.errors import InvalidStockOperation, OutOfStock
from inventory.models import StockLevel
from inventory.services import ReserveRequest
from tests.inventory.helpers import make_bundle, make_product

pytestmark = pytest.mark.django_db


def test_audit_is_clean_then_names_a_tampered_row(merchant_a, capsys):
    m = merchant_a.merchant
    with tenant_scope(m):
        a = make_product(m, "A-1", on_hand=5)
    call_command("inventory_audit")
    assert "every level reconciles" in capsys.readouterr().out
    # given a level changed behind the ledger's back
    with tenant_scope(m):
        StockLevel.objects.filter(merchant=m, product=a).update(on_hand=7)
    # then the audit exits non-zero naming it
    with pytest.raises(CommandError, match="1 stock level"):
        call_command("inventory_audit")
    err = capsys.readouterr().err
    assert '"sku": "A-1"' in err and '"on_hand": 7' in err and '"ledger_on_hand": 5' in err


OPS = st.lists(
    st.tuples(
        st.sampled_from(["adjust", "count", "transfer", "reserve", "reserve_partial", "release", "ship", "return"]),
        st.integers(min_value=0, max_value=2),  # product: A, B or the KIT (2×A + 1×B)
        st.integers(min_value=-6, max_value=12),
        st.integers(min_value=0, max_value=4),  # reference
    ),
    min_size=1, max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_random_operations_keep_the_audit_clean(merchant_a, ops):
    m = merchant_a.merchant
    with tenant_scope(m):
        from inventory.models import Product

        a = Product.objects.filter(merchant=m, sku="PA").first() or make_product(m, "PA", on_hand=5)
        b = Product.objects.filter(merchant=m, sku="PB").first() or make_product(m, "PB", on_hand=5)
        kit = Product.objects.filter(merchant=m, sku="PKIT").first() or make_bundle(m, "PKIT", [(a, 2), (b, 1)])
        shop = selectors.location_list(merchant=m).filter(code="SHOP").first() or services.location_create(
            merchant=m, name="Shop", code="SHOP")
        main = selectors.location_default(merchant=m)
        products = [a, b, kit]
        for op, pi, n, ref in ops:
            p = products[pi]
            reference = f"ref-{ref}"
            try:
                if op == "adjust" and n:
                    services.stock_adjust(merchant=m, product_id=p.pk, delta=n)
                elif op == "count":
                    services.stock_set_count(merchant=m, product_id=p.pk, on_hand=abs(n))
                elif op == "transfer":
                    services.stock_transfer(merchant=m, product_id=p.pk, from_location_id=main.pk,
                                            to_location_id=shop.pk, quantity=abs(n) or 1)
                elif op in ("reserve", "reserve_partial"):
                    services.stock_reserve(merchant=m, partial=op == "reserve_partial",
                                           requests=[ReserveRequest(p.pk, abs(n) or 1, f"{reference}-{p.sku}")])
                elif op == "release":
                    services.stock_release(merchant=m, reference=f"{reference}-{p.sku}", quantity=abs(n) or None)
                elif op == "ship":
                    services.stock_ship(merchant=m, reference=f"{reference}-{p.sku}", product_id=p.pk,
                                        quantity=abs(n) or 1)
                elif op == "return":
                    services.stock_return(merchant=m, product_id=p.pk, quantity=abs(n) or 1, reference=reference,
                                          restock=n % 2 == 0)
            except (OutOfStock, InvalidStockOperation):
                pass  # refused operations must change nothing, which the audit below also proves
            assert selectors.audit_differences(merchant=m) == []
        for level in StockLevel.objects.filter(merchant=m):
            assert level.on_hand >= 0 and 0 <= level.reserved <= level.on_hand
