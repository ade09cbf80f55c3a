from __future__ import annotations

import hashlib
import re

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import ApiToken, Membership, User
from accounts.tenancy import tenant_scope, unscoped

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


def _exchange(email: str = "owner@shop.example", password: str = PASSWORD):
    return APIClient().post("/api/v1/auth/token/", {"email": email, "password": password}, format="json")


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _assert_dead(raw: str) -> None:
    response = _bearer(raw).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_unverified_address_gets_no_token_when_verification_is_mandatory(owner, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    EmailAddress.objects.create(user=owner, email=owner.email, primary=True, verified=False)

    response = _exchange()

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "email_unverified"
    with unscoped("test assertion"):
        assert ApiToken.objects.count() == 0


@pytest.mark.django_db
def test_verified_address_gets_a_token_when_verification_is_mandatory(owner, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    EmailAddress.objects.create(user=owner, email=owner.email, primary=True, verified=True)

    response = _exchange()

    assert response.status_code == 201
    assert _bearer(response.json()["token"]).get("/api/v1/me/").status_code == 200


@pytest.mark.django_db
def test_wrong_password_to_an_unverified_address_reveals_nothing_about_verification(owner, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"

    response = _exchange(password="not-the-password-1")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


@pytest.fixture
def staff(owner):
    """A staff member of the owner's merchant, holding a token of their own."""
    from accounts.services import api_token_create

    with unscoped("test setup"):
        merchant = Membership.objects.get(user=owner).merchant
    user = User.objects.create_user("staff@shop.example", PASSWORD)
    with tenant_scope(merchant):
        Membership.objects.create(merchant=merchant, user=user, role=Membership.Role.STAFF)
        token, raw = api_token_create(merchant=merchant, user=user, name="staff")
    return user, token, raw


@pytest.mark.django_db
def test_a_removed_members_token_stops_working_at_once(owner, staff):
    user, _, raw = staff
    assert _bearer(raw).get("/api/v1/me/").status_code == 200

    with unscoped("test: the owner removes the member (admin)"):
        Membership.objects.filter(user=user).delete()

    _assert_dead(raw)


@pytest.mark.django_db
def test_an_owner_revokes_a_staff_members_token(owner, staff):
    _, staff_token, staff_raw = staff
    owner_raw = _exchange().json()["token"]

    response = _bearer(owner_raw).delete(f"/api/v1/api-tokens/{staff_token.pk}/")

    assert response.status_code == 204
    _assert_dead(staff_raw)
    assert _bearer(owner_raw).get("/api/v1/me/").status_code == 200


@pytest.mark.django_db
def test_staff_revoke_their_own_token_but_not_the_owners(owner, staff):
    _, staff_token, staff_raw = staff
    created = _exchange().json()

    refused = _bearer(staff_raw).delete(f"/api/v1/api-tokens/{created['id']}/")
    own = _bearer(staff_raw).delete(f"/api/v1/api-tokens/{staff_token.pk}/")

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_owner"
    with unscoped("test assertion"):
        assert ApiToken.objects.get(pk=created["id"]).revoked_at is None
    assert _bearer(created["token"]).get("/api/v1/me/").status_code == 200
    assert own.status_code == 204
    _assert_dead(staff_raw)


@pytest.mark.django_db
def test_a_password_reset_revokes_the_users_tokens(owner, staff, client, mailoutbox):
    owner_raw = _exchange().json()["token"]
    _, _, staff_raw = staff
    client.post("/accounts/password/reset/", {"email": "owner@shop.example"})
    key_url = re.search(r"(/accounts/password/reset/key/\S+/)", mailoutbox[0].body).group(1)
    form_url = client.get(key_url)["Location"]

    done = client.post(form_url, {"password1": "a-brand-new-passphrase-7", "password2": "a-brand-new-passphrase-7"})

    assert done.status_code == 302
    _assert_dead(owner_raw)
    with unscoped("test assertion"):
        assert ApiToken.objects.filter(user=owner, revoked_at__isnull=True).count() == 0
    assert _bearer(staff_raw).get("/api/v1/me/").status_code == 200


@pytest.mark.django_db
def test_a_password_change_revokes_the_users_tokens(owner, client):
    owner_raw = _exchange().json()["token"]
    client.force_login(owner)

    done = client.post("/accounts/password/change/", {
        "oldpassword": PASSWORD, "password1": "a-brand-new-passphrase-7", "password2": "a-brand-new-passphrase-7",
    })

    assert done.status_code == 302
    _assert_dead(owner_raw)


@pytest.mark.django_db
def test_deactivating_a_user_revokes_their_tokens(owner, staff):
    from accounts.services import user_deactivate

    user, staff_token, staff_raw = staff
    owner_raw = _exchange().json()["token"]

    user_deactivate(user=user)

    staff_token.refresh_from_db()
    assert staff_token.revoked_at is not None
    _assert_dead(staff_raw)
    assert _bearer(owner_raw).get("/api/v1/me/").status_code == 200


@pytest.mark.django_db
def test_unticking_active_in_the_admin_revokes_the_users_tokens(owner, staff, client):
    user, staff_token, staff_raw = staff
    admin = User.objects.create_superuser("ops@switchboard.example", PASSWORD)
    client.force_login(admin)
    page = client.get(f"/admin/accounts/user/{user.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("password", "groups",
                                                                                   "user_permissions")}
    data.update(is_active="", last_login_0="", last_login_1="",
                date_joined_0=user.date_joined.strftime("%Y-%m-%d"), date_joined_1="00:00:00")
    data.pop("is_active")

    response = client.post(f"/admin/accounts/user/{user.pk}/change/", data)

    assert response.status_code == 302, response.content[:2000]
    user.refresh_from_db()
    staff_token.refresh_from_db()
    assert (user.is_active, staff_token.revoked_at is not None) == (False, True)
    _assert_dead(staff_raw)


@pytest.mark.django_db
def test_dashboard_refuses_staff_revoking_the_owners_token(owner, staff, client):
    user, _, _ = staff
    created = _exchange().json()
    client.force_login(user)

    response = client.post(f"/settings/api-tokens/{created['id']}/revoke/", follow=True)

    assert response.status_code == 200
    assert "Only an owner can revoke" in response.content.decode()
    assert _bearer(created["token"]).get("/api/v1/me/").status_code == 200


@pytest.mark.django_db
def test_staff_setting_a_password_in_the_admin_revokes_the_users_tokens(owner, staff, client):
    user, staff_token, staff_raw = staff
    owner_raw = _exchange().json()["token"]
    client.force_login(User.objects.create_superuser("ops@switchboard.example", PASSWORD))

    response = client.post(f"/admin/accounts/user/{user.pk}/password/", {
        "password1": "a-brand-new-passphrase-7", "password2": "a-brand-new-passphrase-7", "usable_password": "true",
    })

    assert response.status_code == 302, response.content[:2000]
    _assert_dead(staff_raw)
    assert _bearer(owner_raw).get("/api/v1/me/").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/api-tokens/abc/", "/api/v1/api-tokens/%C2%B2/",
                                  "/api/v1/api-tokens/99999999999999999999/"])
def test_revoking_a_token_id_that_is_not_an_id_is_404_in_the_error_shape(merchant_a, path):
    r = merchant_a.api.delete(path)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
