"""The audit trail for stock (issue 20 item 1): adjusted, counted and imported, each one event naming the
levels it moved (old and new on hand), in the merchant's own trail."""

from __future__ import annotations

import io

import pytest

from accounts.models import AuditEvent
from accounts.tenancy import tenant_scope
from inventory.services import imports, stock_set_count
from tests.inventory.helpers import make_product

pytestmark = pytest.mark.django_db


def trail(tenant, action: str) -> list[AuditEvent]:
    with tenant_scope(tenant.merchant):
        return list(AuditEvent.objects.filter(merchant=tenant.merchant, action=action).order_by("id"))


def test_an_adjustment_a_count_and_an_import_are_each_recorded(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        product = make_product(m, "B-1", on_hand=5)

    adjusted = merchant_a.api.post("/api/v1/inventory/adjustments/", {"adjustments": [
        {"sku": "A-1", "delta": 10, "reason": "received"}]}, format="json")
    with tenant_scope(m):
        stock_set_count(merchant=m, product_id=product.pk, on_hand=2, actor=merchant_a.user)
        imp = imports.stock_import_create(merchant=m, user=merchant_a.user, filename="stock.csv",
                                          upload=io.BytesIO(b"sku,location,delta\nA-1,MAIN,3\n"))
        imports.stock_import_apply(merchant=m, import_id=imp.pk, actor=merchant_a.user)

    assert adjusted.status_code == 201
    adjust = trail(merchant_a, "stock.adjusted")[-1]  # the two before it are make_product's opening stock
    assert adjust.changes == {"A-1 @ Main warehouse": {"old": 5, "new": 15}}
    assert adjust.actor_label == "alice@a.example" and adjust.request_id
    [count] = trail(merchant_a, "stock.counted")
    assert count.changes == {"B-1 @ Main warehouse": {"old": 5, "new": 2}}
    [imported] = trail(merchant_a, "stock.imported")
    assert imported.changes == {"A-1 @ Main warehouse": {"old": 15, "new": 18}} and imported.object_repr == f"import:{imp.pk}"
    with tenant_scope(merchant_b.merchant):
        assert not AuditEvent.objects.filter(merchant=merchant_b.merchant, action__startswith="stock.").exists()
