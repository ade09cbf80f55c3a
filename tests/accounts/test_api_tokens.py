from __future__ import annotations

import hashlib

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from accounts.tenancy import unscoped

PASSWORD = "correct-horse-battery-staple-9"


@pytest.fixture
def owner(db):
    from accounts.services import merchant_create

    user = User.objects.create_user("owner@shop.example", PASSWORD)
    merchant_create(name="Owner Shop", owner=user)
    return user


@pytest.mark.django_db
def test_token_life_cycle_create_use_revoke(owner):
    client = APIClient()

    created = client.post("/api/v1/auth/token/", {"email": "owner@shop.example", "password": PASSWORD}, format="json")
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith("sb_")

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["merchant"]["name"] == "Owner Shop"

    listed = client.get("/api/v1/api-tokens/").json()["results"]
    assert [t["prefix"] for t in listed] == [created.json()["prefix"]]
    assert "token" not in listed[0] and "key_hash" not in listed[0]

    revoked = client.delete(f"/api/v1/api-tokens/{created.json()['id']}/")
    assert revoked.status_code == 204
    after = client.get("/api/v1/me/")
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_database_holds_no_plaintext_token(owner):
    raw = APIClient().post("/api/v1/auth/token/", {"email": "owner@shop.example", "password": PASSWORD},
                           format="json").json()["token"]

    with unscoped("test assertion"):
        token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        stored = " ".join(str(v) for row in cursor.fetchall() for v in row)
    assert raw not in stored
    assert raw.split("_", 2)[2] not in stored


@pytest.mark.django_db
def test_wrong_password_gets_no_token(owner):
    response = APIClient().post("/api/v1/auth/token/", {"email": "owner@shop.example", "password": "nope-nope-nope"},
                                format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    with unscoped("test assertion"):
        assert ApiToken.objects.count() == 0


@pytest.mark.django_db
def test_token_exchange_validates_input(owner):
    response = APIClient().post("/api/v1/auth/token/", {"email": "not-an-email"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]["fields"]) == {"email", "password"}


@pytest.mark.django_db
def test_dashboard_creates_a_token_shown_once_then_only_its_prefix(merchant_a):
    response = merchant_a.web.post("/settings/api-tokens/", {"name": "ERP sync"}, follow=True)

    with unscoped("test assertion"):
        token = ApiToken.objects.get(name="ERP sync")
    page = response.content.decode()
    assert "Copy your new token now" in page
    shown = page.split('id="new-token">')[1].split("<")[0]
    assert hashlib.sha256(shown.encode()).hexdigest() == token.key_hash

    again = merchant_a.web.get("/settings/").content.decode()
    assert shown not in again and f"sb_{token.prefix}_" in again


@pytest.mark.django_db
def test_dashboard_revokes_only_its_own_tokens(merchant_a, merchant_b):
    with unscoped("test setup"):
        theirs = ApiToken.objects.get(merchant=merchant_b.merchant)

    response = merchant_a.web.post(f"/settings/api-tokens/{theirs.pk}/revoke/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert merchant_b.api.get("/api/v1/me/").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/api-tokens/abc/", "/api/v1/api-tokens/%C2%B2/",
                                  "/api/v1/api-tokens/99999999999999999999/"])
def test_revoking_a_token_id_that_is_not_an_id_is_404_in_the_error_shape(merchant_a, path):
    r = merchant_a.api.delete(path)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
