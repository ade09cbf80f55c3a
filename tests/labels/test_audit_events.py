"""The audit trail for labels (issue 20 item 1): carrier accounts connected, changed (credentials by name
only) and removed; labels bought and voided; each in its own merchant's trail only."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import AuditEvent
from accounts.tenancy import tenant_scope
from tests.fakes.easypost.fixtures import EASYPOST_KEY
from tests.labels.helpers import easypost_account, pending_shipment

pytestmark = pytest.mark.django_db


def trail(tenant, prefix: str) -> list[AuditEvent]:
    with tenant_scope(tenant.merchant):
        return list(AuditEvent.objects.filter(merchant=tenant.merchant, action__startswith=prefix).order_by("id"))


def stored_trail() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT action, object_repr, changes::text FROM accounts_auditevent")
        return " ".join(str(v) for row in cursor.fetchall() for v in row)


def test_carrier_account_connected_changed_and_removed_are_recorded_without_the_key(merchant_a, merchant_b,
                                                                                  easypost_fake):
    created = merchant_a.api.post("/api/v1/carrier-accounts/", {
        "carrier": "easypost", "name": "Main", "credentials": {"api_key": EASYPOST_KEY}}, format="json").json()
    changed = merchant_a.api.patch(f"/api/v1/carrier-accounts/{created['id']}/", {
        "name": "Renamed", "credentials": {"api_key": EASYPOST_KEY}}, format="json")
    removed = merchant_a.api.delete(f"/api/v1/carrier-accounts/{created['id']}/")

    assert changed.status_code == 200 and removed.status_code in (200, 204), (changed.content, removed.content)
    actions = [e.action for e in trail(merchant_a, "carrier_account.")]
    assert actions[0] == "carrier_account.connected" and actions[-1] == "carrier_account.removed"
    [connected] = trail(merchant_a, "carrier_account.connected")
    assert connected.changes["credentials.api_key"] == {"changed": True}
    assert connected.actor_label == "alice@a.example" and connected.actor_token_id is not None
    [renamed] = trail(merchant_a, "carrier_account.changed")
    assert renamed.changes == {"name": {"old": "Main", "new": "Renamed"}}  # the same key again: not a change
    [gone] = trail(merchant_a, "carrier_account.removed")
    assert gone.changes["status"]["new"] == "disconnected" and gone.changes["credentials.api_key"] == {"changed": True}
    assert EASYPOST_KEY not in stored_trail()
    assert trail(merchant_b, "carrier_account.") == []


def test_a_bought_and_a_voided_label_are_recorded(merchant_a, merchant_b, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)

    bought = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")
    voided = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/void/")

    assert bought.status_code == 200 and voided.status_code == 200, (bought.content, voided.content)
    [buy] = trail(merchant_a, "label.bought")
    [void] = trail(merchant_a, "label.voided")
    assert buy.object_type == "labels.Label" and buy.object_id == void.object_id
    assert buy.changes["status"] == {"old": "intended", "new": "bought"} and buy.changes["cost"]["new"]
    assert void.changes["status"] == {"old": "bought", "new": "voided"}
    assert buy.actor_label == void.actor_label == "alice@a.example" and buy.request_id != void.request_id
    assert trail(merchant_b, "label.") == []
