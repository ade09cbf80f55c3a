"""The audit trail for bulk actions (issue 20 item 1): one event per bulk action, counting what was done
and failed, naming the orders and the reason."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from accounts.tenancy import tenant_scope
from notifications.services import notification_settings_update
from orders import services
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


def test_a_bulk_action_is_one_event_with_counts_ids_and_reason(merchant_a, merchant_b):
    m = merchant_a.merchant
    with tenant_scope(m):
        make_product(m, "A-1", on_hand=5)
        ok = services.order_ingest(merchant=m, integration_id=None, normalized=normalized("1")).order

    response = merchant_a.api.post("/api/v1/orders/bulk/", {"ids": [ok.pk, 999999], "action": "fulfill",
                                                            "reason": "shipped outside"}, format="json")

    assert response.status_code == 200
    with tenant_scope(m):
        [event] = AuditEvent.objects.filter(merchant=m, action="orders.bulk_fulfill")
    assert event.changes == {"orders": {"done": 1, "failed": 1, "ids": [ok.pk]},
                             "reason": {"old": None, "new": "shipped outside"}}
    assert event.actor_label == "alice@a.example" and event.object_repr == "1 of 2 orders"
    with tenant_scope(merchant_b.merchant):
        assert not AuditEvent.objects.filter(merchant=merchant_b.merchant, action__startswith="orders.").exists()


def test_notification_settings_changes_are_recorded_with_old_and_new(merchant_a):
    m = merchant_a.merchant
    with tenant_scope(m):
        notification_settings_update(merchant=m, new_order_mode="off")
        [event] = AuditEvent.objects.filter(merchant=m, action="notifications.settings_changed")

    assert event.changes["new_order_mode"]["new"] == "off" and event.changes["new_order_mode"]["old"] != "off"
