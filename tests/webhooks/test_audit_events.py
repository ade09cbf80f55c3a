"""The audit trail for webhook replays (issue 20 item 1): one event per replay, naming the events."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from accounts.tenancy import tenant_scope
from tests.integrations.helpers import make_integration
from tests.webhooks.helpers import make_event

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhook-events/"


def test_a_replay_and_a_bulk_replay_are_recorded(merchant_a, merchant_b):
    with tenant_scope(merchant_a.merchant):
        store = make_integration(merchant_a.merchant)
        dead = make_event(store, status="dead", attempts=10)
        failed = [make_event(store, status="failed") for _ in range(2)]

    one = merchant_a.api.post(f"{URL}{dead.pk}/replay/")
    bulk = merchant_a.api.post(f"{URL}replay/", {"status": "failed"}, format="json")

    assert one.status_code == 202 and bulk.status_code in (200, 202), bulk.content
    with tenant_scope(merchant_a.merchant):
        first, second = AuditEvent.objects.filter(merchant=merchant_a.merchant, action="webhook.replayed").order_by("id")
    assert first.object_id == str(dead.pk) and first.changes["events"] == {"count": 1, "ids": [dead.pk]}
    assert second.changes["events"] == {"count": 2, "ids": sorted(e.pk for e in failed)}
    assert first.actor_label == "alice@a.example"
    with tenant_scope(merchant_b.merchant):
        assert not AuditEvent.objects.filter(merchant=merchant_b.merchant, action__startswith="webhook.").exists()
