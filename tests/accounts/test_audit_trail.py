"""The audit trail (issue 20 item 1): append-only in the database, tenant-scoped, recorded by the services
with who, from where and what changed (never a secret), shown to owners on a page and in the API."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Membership, Merchant, User
from accounts.services import membership_remove, membership_role_change, merchant_create, merchant_update
from accounts.services.audit import audit_record, field_changes
from accounts.tenancy import tenant_scope, unscoped
from core.errors import PermissionDenied

PASSWORD = "correct-horse-battery-staple-9"


def events(merchant, action: str | None = None) -> list[AuditEvent]:
    with tenant_scope(merchant):
        qs = AuditEvent.objects.filter(merchant=merchant).order_by("id")
        return list(qs.filter(action=action) if action else qs)


@pytest.fixture
def shop(db):
    owner = User.objects.create_user("owner@shop.example", PASSWORD)
    merchant = merchant_create(name="Owner Shop", owner=owner)
    staff = User.objects.create_user("staff@shop.example", PASSWORD)
    with tenant_scope(merchant):
        Membership.objects.create(merchant=merchant, user=staff, role=Membership.Role.STAFF)
    return merchant, owner, staff


@pytest.fixture
def other_shop(db):
    owner = User.objects.create_user("other@elsewhere.example", PASSWORD)
    return merchant_create(name="Elsewhere", owner=owner), owner


def token_client(email: str, merchant_id: int | None = None, **extra) -> tuple[APIClient, dict]:
    client = APIClient(**extra)
    body = {"email": email, "password": PASSWORD, **({"merchant": merchant_id} if merchant_id else {})}
    created = client.post("/api/v1/auth/token/", body, format="json")
    assert created.status_code == 201, created.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.json()['token']}")
    return client, created.json()


# ---------------------------------------------------------------- append-only, in the database

@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_to_update_or_delete_an_event(shop):
    merchant, owner, _ = shop
    event = audit_record(merchant=merchant, action="test.act", actor=owner)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_auditevent SET action = 'forged' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), unscoped("test: ORM delete"):
        AuditEvent.objects.filter(pk=event.pk).delete()

    with connection.cursor() as cursor:
        cursor.execute("SELECT action FROM accounts_auditevent WHERE id = %s", [event.pk])
        assert cursor.fetchone() == ("test.act",)


# ---------------------------------------------------------------- what an event says

def test_changes_name_old_and_new_values_and_only_that_a_secret_changed():
    changes = field_changes({"name": "Old", "api_key": "sk_live_OLD", "webhook_secret": "a", "same": 1},
                            {"name": "New", "api_key": "sk_live_NEW", "webhook_secret": "b", "same": 1},
                            secret_fields=("webhook_secret",))

    assert changes == {"name": {"old": "Old", "new": "New"}, "api_key": {"changed": True},
                       "webhook_secret": {"changed": True}}


@pytest.mark.django_db
def test_merchant_settings_change_records_fields_actor_ip_agent_and_request_id(shop, settings):
    merchant, owner, _ = shop
    settings.TRUSTED_PROXY_COUNT = 1
    client, _ = token_client("owner@shop.example")

    response = client.patch("/api/v1/merchant/", {"name": "Renamed Shop", "default_ship_by_days": 3}, format="json",
                            HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.2", REMOTE_ADDR="10.0.0.1",
                            HTTP_USER_AGENT="ShopBot/1.0", HTTP_X_REQUEST_ID="req-audit-0001")

    assert response.status_code == 200
    [event] = events(merchant, "merchant.settings_changed")
    assert event.changes == {"name": {"old": "Owner Shop", "new": "Renamed Shop"},
                             "default_ship_by_days": {"old": 2, "new": 3}}
    assert (event.actor_user_id, event.actor_label) == (owner.pk, "owner@shop.example")
    assert event.actor_token_id is not None
    assert (event.ip, event.user_agent, event.request_id) == ("10.0.0.2", "ShopBot/1.0", "req-audit-0001")
    assert (event.object_type, event.object_id) == ("accounts.Merchant", str(merchant.pk))


@pytest.mark.django_db
def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(shop, settings):
    merchant, owner, _ = shop
    settings.TRUSTED_PROXY_COUNT = 0
    client, _ = token_client("owner@shop.example")

    client.patch("/api/v1/merchant/", {"name": "Renamed"}, format="json",
                 HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="198.51.100.4")

    assert events(merchant, "merchant.settings_changed")[0].ip == "198.51.100.4"


@pytest.mark.django_db
def test_sign_in_success_and_failure_are_recorded_in_the_persons_merchants_without_the_password(shop, client):
    merchant, owner, _ = shop

    client.post("/accounts/login/", {"login": "owner@shop.example", "password": "wrong-password-123"},
                HTTP_USER_AGENT="Mozilla/5.0 test")
    client.post("/accounts/login/", {"login": "owner@shop.example", "password": PASSWORD})

    [failed] = events(merchant, "user.sign_in_failed")
    [signed_in] = events(merchant, "user.signed_in")
    assert failed.actor_label == "owner@shop.example" and failed.actor_user_id is None
    assert failed.user_agent == "Mozilla/5.0 test" and failed.ip == "127.0.0.1"
    assert signed_in.actor_user_id == owner.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes::text, object_repr FROM accounts_auditevent")
        stored = " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert "wrong-password-123" not in stored and PASSWORD not in stored


@pytest.mark.django_db
def test_a_failed_sign_in_for_an_unknown_address_belongs_to_no_merchant(shop, client):
    client.post("/accounts/login/", {"login": "nobody@shop.example", "password": "wrong-password-123"})

    with unscoped("test assertion"):
        assert not AuditEvent.objects.filter(action="user.sign_in_failed").exists()


@pytest.mark.django_db
def test_api_token_created_and_revoked_are_recorded(shop):
    merchant, owner, _ = shop
    client, created = token_client("owner@shop.example")

    client.delete(f"/api/v1/api-tokens/{created['id']}/")

    assert [e.object_id for e in events(merchant, "api_token.created")] == [str(created["id"])]
    [revoked] = events(merchant, "api_token.revoked")
    assert revoked.object_id == str(created["id"]) and revoked.actor_user_id == owner.pk


@pytest.mark.django_db
def test_role_change_and_removal_are_recorded(shop):
    merchant, owner, staff = shop
    with tenant_scope(merchant):
        membership = Membership.objects.get(merchant=merchant, user=staff)
        membership_role_change(merchant=merchant, actor=owner, membership=membership, role="owner")
        membership_remove(merchant=merchant, actor=owner, membership=membership)

    [changed] = events(merchant, "membership.role_changed")
    assert changed.changes == {"role": {"old": "staff", "new": "owner"}}
    assert changed.object_repr == "staff@shop.example" and changed.actor_label == "owner@shop.example"
    [removed] = events(merchant, "membership.removed")
    assert removed.object_repr == "staff@shop.example"


@pytest.mark.django_db
def test_a_failed_act_leaves_no_event(shop):
    merchant, _, staff = shop

    with tenant_scope(merchant), pytest.raises(PermissionDenied):
        merchant_update(merchant=merchant, actor=staff, name="Nope", currency="USD", timezone_name="UTC",
                        default_ship_by_days=2, address=None)

    assert events(merchant, "merchant.settings_changed") == []


# ---------------------------------------------------------------- who sees it

@pytest.mark.django_db
def test_the_api_lists_the_owners_events_newest_first_filtered_and_keyset_paged(shop, other_shop):
    merchant, owner, _ = shop
    other, other_owner = other_shop
    for i in range(3):
        audit_record(merchant=merchant, action="label.bought", actor=owner, object_repr=f"label {i}")
    audit_record(merchant=merchant, action="stock.adjusted", actor=owner)
    audit_record(merchant=other, action="label.bought", actor=other_owner, object_repr="theirs")
    client, _ = token_client("owner@shop.example")

    first = client.get("/api/v1/audit-events/", {"action": "label", "page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert [e["object_repr"] for e in first["results"] + second["results"]] == ["label 2", "label 1", "label 0"]
    everything = client.get("/api/v1/audit-events/", {"page_size": 500}).json()["results"]
    assert "theirs" not in [e["object_repr"] for e in everything]
    assert {e["action"] for e in everything} >= {"label.bought", "stock.adjusted", "api_token.created"}
    by_actor = client.get("/api/v1/audit-events/", {"actor": "nobody-like-this"}).json()["results"]
    assert by_actor == []


@pytest.mark.django_db
def test_the_api_filters_by_day_and_refuses_a_bad_date(shop):
    merchant, owner, _ = shop
    audit_record(merchant=merchant, action="label.bought", actor=owner)
    client, _ = token_client("owner@shop.example")

    assert client.get("/api/v1/audit-events/", {"to": "2000-01-01"}).json()["results"] == []
    bad = client.get("/api/v1/audit-events/", {"from": "yesterday"})
    assert bad.status_code == 400 and bad.json()["error"]["code"]


@pytest.mark.django_db
def test_staff_are_refused_the_trail_in_the_api_and_on_the_page(shop, client):
    staff_api, _ = token_client("staff@shop.example")

    refused = staff_api.get("/api/v1/audit-events/")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_owner"
    client.login(email="staff@shop.example", password=PASSWORD)
    assert client.get("/settings/audit/").status_code == 403


@pytest.mark.django_db
def test_an_owner_in_two_merchants_sees_only_the_current_merchants_events(shop, other_shop):
    merchant, owner, _ = shop
    other, other_owner = other_shop
    with tenant_scope(other):
        Membership.objects.create(merchant=other, user=owner, role=Membership.Role.OWNER)
    audit_record(merchant=other, action="carrier_account.connected", actor=other_owner, object_repr="other's")
    client, _ = token_client("owner@shop.example", merchant_id=merchant.pk)

    listed = client.get("/api/v1/audit-events/", {"page_size": 500}).json()["results"]

    assert "other's" not in [e["object_repr"] for e in listed]
    assert all(e["action"] != "carrier_account.connected" for e in listed)


@pytest.mark.django_db
def test_the_owners_page_shows_and_filters_the_trail_and_pages_on(shop, client):
    merchant, owner, _ = shop
    for i in range(55):
        audit_record(merchant=merchant, action="stock.adjusted", actor=owner, object_repr=f"SKU-{i:02d}")
    audit_record(merchant=merchant, action="label.voided", actor=owner, object_repr="the void",
                 changes={"status": {"old": "bought", "new": "voided"}})
    client.login(email="owner@shop.example", password=PASSWORD)

    page = client.get("/settings/audit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "the void" in html and "SKU-54" in html and "SKU-00" not in html
    assert "bought → voided" in html
    older = page.context["next_query"]
    assert "SKU-00" in client.get(f"/settings/audit/?{older}").content.decode()
    filtered = client.get("/settings/audit/", {"action": "label"}).content.decode()
    assert "the void" in filtered and "SKU-54" not in filtered
    bad = client.get("/settings/audit/", {"from": "not-a-date"})
    assert bad.status_code == 200 and "the void" in bad.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_merchant_deleted_outright_leaves_its_trail_behind(shop):
    merchant, owner, _ = shop
    audit_record(merchant=merchant, action="test.act", actor=owner)

    with unscoped("test: ops deletes a merchant"):
        Merchant.objects.filter(pk=merchant.pk).delete()

    with connection.cursor() as cursor:
        cursor.execute("SELECT action FROM accounts_auditevent WHERE merchant_id = %s", [merchant.pk])
        assert ("test.act",) in cursor.fetchall()
