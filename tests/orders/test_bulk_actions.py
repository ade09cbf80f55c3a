"""Bulk actions another app registers (the labels app's packing slips) appear on the order list and run."""

from __future__ import annotations

import pytest
from django.http import HttpResponse

from accounts.tenancy import tenant_scope
from orders import services
from orders.bulk_actions import BulkAction, bulk_actions, register_bulk_action
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db

CALLS: list = []


def _slips(request, merchant, order_ids) -> HttpResponse:
    CALLS.append((request.user.pk, merchant.pk, list(order_ids)))
    return HttpResponse(b"%PDF-slips", content_type="application/pdf")


def test_a_registered_action_is_offered_and_called_with_the_merchant_and_selected_orders(merchant_a):
    CALLS.clear()
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        order = services.order_ingest(merchant=m, integration_id=None, normalized=normalized()).order
    # (the labels app registers the real packing slips; this test's own action is named apart)
    with bulk_actions.registered("test_slips", BulkAction("test_slips", "Print test slips", _slips)):
        page = merchant_a.web.get("/orders/")
        r = merchant_a.web.post("/orders/bulk/", {"ids": [order.pk], "action": "test_slips"})
    assert b'<option value="test_slips">Print test slips</option>' in page.content
    assert (r.status_code, r["Content-Type"], r.content) == (200, "application/pdf", b"%PDF-slips")
    assert CALLS == [(merchant_a.user.pk, m.pk, [order.pk])]
    # once unregistered, the list no longer offers it
    assert b"test_slips" not in merchant_a.web.get("/orders/").content


def test_an_app_cannot_take_over_one_of_the_orders_own_actions():
    with pytest.raises(ValueError) as err:
        register_bulk_action("cancel", "Cancel differently", _slips)
    assert str(err.value) == "'cancel' is one of the orders app's own actions"
    assert bulk_actions.get("cancel") is None
