"""Google sign-in through allauth. Google cannot be reached from here, so its token and
user-info endpoints are answered at the HTTP layer (responses), not by patching our code."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import responses
from django.test import override_settings

from accounts.models import Membership, User
from accounts.tenancy import unscoped

CLIENT_ID = "123-test.apps.googleusercontent.com"
GOOGLE = {
    "google": {
        "SCOPE": ["openid", "profile", "email"],
        "AUTH_PARAMS": {"access_type": "online", "prompt": "select_account"},
        "OAUTH_PKCE_ENABLED": True,
        "EMAIL_AUTHENTICATION": True,
        "APPS": [{"client_id": CLIENT_ID, "secret": "google-secret", "key": ""}],
    }
}


def _start(client):
    response = client.post("/accounts/google/login/?process=login")
    assert response.status_code == 302
    return urlparse(response["Location"]), parse_qs(urlparse(response["Location"]).query)


@pytest.mark.django_db
@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE)
def test_the_google_button_redirects_to_googles_authorization_endpoint(client):
    login_page = client.get("/accounts/login/")
    assert b"/accounts/google/login/" in login_page.content

    url, query = _start(client)

    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://accounts.google.com/o/oauth2/v2/auth"
    assert query["client_id"] == [CLIENT_ID]
    assert set(query["scope"][0].split()) == {"openid", "profile", "email"}
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"][0].endswith("/accounts/google/login/callback/")
    assert query["code_challenge_method"] == ["S256"]


@pytest.mark.django_db
@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE)
@responses.activate
def test_first_google_login_creates_user_merchant_and_owner_membership(client):
    responses.add(responses.POST, "https://oauth2.googleapis.com/token", json={
        "access_token": "ya29.test-access-token", "expires_in": 3599, "token_type": "Bearer",
        "scope": "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
    })
    responses.add(responses.GET, "https://www.googleapis.com/oauth2/v2/userinfo", json={
        "id": "109876543210987654321", "email": "grace@gmail.example", "verified_email": True,
        "name": "Grace Hopper", "given_name": "Grace", "family_name": "Hopper", "picture": "https://x/p.jpg",
    })
    _, query = _start(client)

    response = client.get("/accounts/google/login/callback/", {"code": "4/0AX-code", "state": query["state"][0]})

    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == "/"
    token_call = responses.calls[0].request
    assert "code=4%2F0AX-code" in token_call.body and "code_verifier=" in token_call.body
    assert responses.calls[1].request.headers["Authorization"] == "Bearer ya29.test-access-token"
    user = User.objects.get(email="grace@gmail.example")
    with unscoped("test assertion"):
        membership = Membership.objects.select_related("merchant").get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.merchant.name == "Grace's shop"
    assert client.get("/", follow=True).status_code == 200


@pytest.mark.django_db
@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE)
@responses.activate
def test_a_refused_token_exchange_signs_nobody_in(client):
    responses.add(responses.POST, "https://oauth2.googleapis.com/token", status=400,
                  json={"error": "invalid_grant", "error_description": "Bad Request"})
    _, query = _start(client)

    response = client.get("/accounts/google/login/callback/", {"code": "stale", "state": query["state"][0]})

    assert response.status_code == 401
    assert b"error" in response.content.lower()
    assert User.objects.count() == 0


def _google_login(client, *, uid: str, email: str):
    responses.add(responses.POST, "https://oauth2.googleapis.com/token", json={
        "access_token": "ya29.test-access-token", "expires_in": 3599, "token_type": "Bearer",
        "scope": "openid https://www.googleapis.com/auth/userinfo.email",
    })
    responses.add(responses.GET, "https://www.googleapis.com/oauth2/v2/userinfo", json={
        "id": uid, "email": email, "verified_email": True, "name": "Real Owner", "given_name": "Real",
    })
    _, query = _start(client)
    response = client.get("/accounts/google/login/callback/", {"code": "4/0AX-code", "state": query["state"][0]})
    assert response.status_code == 302, response.content[:500]
    return response


def _token_works(raw: str) -> int:
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api.get("/api/v1/me/").status_code


@pytest.mark.django_db
@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE)
@responses.activate
def test_proving_an_unverified_address_through_google_revokes_the_pre_registered_tokens(client):
    from rest_framework.test import APIClient

    from accounts.models import ApiToken
    from accounts.services import merchant_create

    # given someone pre-registered victim@gmail.example with a password and took an API token
    squatter = User.objects.create_user("victim@gmail.example", "squatters-password-1")
    merchant_create(name="Squat", owner=squatter)
    raw = APIClient().post("/api/v1/auth/token/", {"email": "victim@gmail.example",
                                                    "password": "squatters-password-1"}, format="json").json()["token"]
    assert _token_works(raw) == 200

    # when the address's real owner signs in with Google (allauth wipes the unverified account's password)
    _google_login(client, uid="1001", email="victim@gmail.example")

    # then the pre-registered password and its token are both dead
    squatter.refresh_from_db()
    assert squatter.has_usable_password() is False
    with unscoped("test assertion"):
        assert ApiToken.objects.get(user=squatter).revoked_at is not None
    assert _token_works(raw) == 401


@pytest.mark.django_db
@override_settings(SOCIALACCOUNT_PROVIDERS=GOOGLE)
@responses.activate
def test_signing_in_with_google_again_keeps_the_users_own_tokens(client):
    from accounts.services import api_token_create

    _google_login(client, uid="2002", email="grace@gmail.example")
    user = User.objects.get(email="grace@gmail.example")
    with unscoped("test setup"):
        merchant = Membership.objects.get(user=user).merchant
    from accounts.tenancy import tenant_scope

    with tenant_scope(merchant):
        _, raw = api_token_create(merchant=merchant, user=user, name="mine")
    client.post("/accounts/logout/")

    _google_login(client, uid="2002", email="grace@gmail.example")

    assert _token_works(raw) == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/google/login/", "/accounts/google/login/callback/",
                                  "/accounts/google/login/token/"])
def test_without_a_google_app_its_urls_are_not_found_not_an_error(client, path):
    # Given no Google app in the environment or the admin (the default of make run)
    # When its URLs are asked for, by GET or POST, Then a 404 page, never a 500
    assert client.get(path).status_code == 404
    assert client.post(path).status_code in (404, 405)
    assert b"/accounts/google/login/" not in client.get("/accounts/login/").content
