"""The audit trail for stores (issue 20 item 1): connected, changed, reconnected (credentials by name only)
and disconnected, through the API, in the store's merchant's trail only."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import AuditEvent
from accounts.tenancy import tenant_scope

pytestmark = pytest.mark.django_db

SECRETS = ("shpat_audit_planted_token_1", "shpss_audit_planted_secret_2", "shpat_audit_planted_token_3")
BODY = {"channel": "shopify", "name": "Main shop",
        "credentials": {"shop_domain": "main-shop.myshopify.com", "access_token": SECRETS[0],
                        "client_secret": SECRETS[1]}}


def trail(tenant) -> list[AuditEvent]:
    with tenant_scope(tenant.merchant):
        return list(AuditEvent.objects.filter(merchant=tenant.merchant, action__startswith="integration.")
                    .order_by("id"))


def test_connect_change_reconnect_disconnect_are_recorded_and_no_credential_value_is(merchant_a, merchant_b):
    pk = merchant_a.api.post("/api/v1/integrations/", BODY, format="json").json()["id"]
    merchant_a.api.patch(f"/api/v1/integrations/{pk}/", {"name": "Renamed", "settings": {"percent": 80}},
                         format="json")
    merchant_a.api.patch(f"/api/v1/integrations/{pk}/", {"credentials": {
        "shop_domain": "main-shop.myshopify.com", "access_token": SECRETS[2], "client_secret": SECRETS[1]}},
        format="json")
    merchant_a.api.delete(f"/api/v1/integrations/{pk}/")

    events = trail(merchant_a)
    assert [e.action for e in events] == ["integration.connected", "integration.changed", "integration.reconnected",
                                          "integration.disconnected"]
    connected, changed, reconnected, disconnected = events
    assert {e.object_id for e in events} == {str(pk)}
    assert connected.changes["credentials.access_token"] == {"changed": True}
    assert changed.changes == {"name": {"old": "Main shop", "new": "Renamed"},
                               "settings.percent": {"old": None, "new": 80}}
    assert reconnected.changes == {"credentials.access_token": {"changed": True}}
    assert disconnected.changes == {"status": {"old": "active", "new": "disconnected"}}
    assert connected.actor_label == "alice@a.example"
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes::text, object_repr FROM accounts_auditevent")
        stored = " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert not [s for s in SECRETS if s in stored]
    assert trail(merchant_b) == []
