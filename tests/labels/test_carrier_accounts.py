"""Carrier accounts through the API: tested before saving, credentials encrypted and write-only,
rotated with every other secret, another merchant's account is 404."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts.tenancy import tenant_scope
from core.fields import is_current
from labels.models import CarrierAccount
from tests.fakes.easypost.fixtures import EASYPOST_KEY

pytestmark = pytest.mark.django_db


def test_an_account_is_saved_after_its_key_answered(merchant_a, easypost_fake):
    response = merchant_a.api.post("/api/v1/carrier-accounts/", {
        "carrier": "easypost", "name": "Main EasyPost", "credentials": {"api_key": EASYPOST_KEY}}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["carrier"] == "easypost" and body["name"] == "Main EasyPost" and body["status"] == "active"
    assert "credentials" not in body and EASYPOST_KEY not in response.content.decode()
    assert [p for _m, p, _b in easypost_fake.requests] == ["/v2/users"]
    with tenant_scope(merchant_a.merchant):
        account = CarrierAccount.objects.get(pk=body["id"])
    assert account.credentials == {"api_key": EASYPOST_KEY}
    listed = merchant_a.api.get("/api/v1/carrier-accounts/").json()
    assert EASYPOST_KEY not in str(listed)


def test_a_refused_key_is_a_400_in_easyposts_words_and_nothing_is_saved(merchant_a, easypost_fake):
    response = merchant_a.api.post("/api/v1/carrier-accounts/", {
        "carrier": "easypost", "name": "Main", "credentials": {"api_key": "EZTK_wrong"}}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "carrier_refused"
    assert response.json()["error"]["message"] == "EasyPost refused the API key."
    with tenant_scope(merchant_a.merchant):
        assert CarrierAccount.objects.count() == 0


def test_test_connection_before_saving_stores_nothing(merchant_a, easypost_fake):
    ok = merchant_a.api.post("/api/v1/carrier-accounts/test-connection/", {
        "carrier": "easypost", "credentials": {"api_key": EASYPOST_KEY}}, format="json")
    unknown = merchant_a.api.post("/api/v1/carrier-accounts/test-connection/", {
        "carrier": "royalmail", "credentials": {"api_key": "x"}}, format="json")

    assert ok.status_code == 200 and ok.json() == {"ok": True, "account_name": "Fake Shipper"}
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "validation_failed"
    with tenant_scope(merchant_a.merchant):
        assert CarrierAccount.objects.count() == 0


def test_another_merchants_account_is_404_and_unchanged(merchant_a, merchant_b, easypost_fake):
    created = merchant_a.api.post("/api/v1/carrier-accounts/", {
        "carrier": "easypost", "name": "A's", "credentials": {"api_key": EASYPOST_KEY}}, format="json").json()

    get = merchant_b.api.get(f"/api/v1/carrier-accounts/{created['id']}/")
    patch = merchant_b.api.patch(f"/api/v1/carrier-accounts/{created['id']}/", {"name": "B's now"}, format="json")
    delete = merchant_b.api.delete(f"/api/v1/carrier-accounts/{created['id']}/")

    assert (get.status_code, patch.status_code, delete.status_code) == (404, 404, 404)
    assert merchant_b.api.get("/api/v1/carrier-accounts/").json()["results"] == []
    with tenant_scope(merchant_a.merchant):
        account = CarrierAccount.objects.get(pk=created["id"])
    assert (account.name, account.status) == ("A's", "active")


def test_credentials_are_ciphertext_in_the_table_and_rotated(merchant_a, easypost_fake, settings):
    created = merchant_a.api.post("/api/v1/carrier-accounts/", {
        "carrier": "easypost", "name": "A's", "credentials": {"api_key": EASYPOST_KEY}}, format="json").json()
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials, webhook_secret FROM labels_carrieraccount WHERE id = %s", [created["id"]])
        credentials, secret = cursor.fetchone()
    assert EASYPOST_KEY not in credentials and is_current(credentials) and is_current(secret)

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)

    assert "labels.CarrierAccount: 2 rotated, 0 already current" in out.getvalue()
    with tenant_scope(merchant_a.merchant):
        assert CarrierAccount.objects.get(pk=created["id"]).credentials == {"api_key": EASYPOST_KEY}


@pytest.mark.parametrize("key", ["caf\u00e9-key", "two words", "tab\tkey", "nul\x00key", "x" * 201])
def test_a_key_that_is_not_a_printable_ascii_token_is_a_400_before_any_call(merchant_a, easypost_fake, key):
    response = merchant_a.api.post("/api/v1/carrier-accounts/", {
        "carrier": "easypost", "name": "Main", "credentials": {"api_key": key}}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_failed"
    assert list(response.json()["error"]["details"]["fields"]["credentials"]) == ["api_key"]
    assert easypost_fake.requests == []
