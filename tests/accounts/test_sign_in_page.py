"""The sign-in page: the Google button whenever Google is configured (environment or a
SocialApp row, once when both), and a lockout that says when to try again."""

from __future__ import annotations

import time

import pytest
from allauth.core.internal import ratelimit
from allauth.socialaccount.models import SocialApp
from django.core.cache import cache
from django.test import RequestFactory, override_settings

from accounts.adapters import lockout_message, login_lockout_seconds
from accounts.models import User

GOOGLE_LINK = b'href="/accounts/google/login/?process=login"'
ENV_CLIENT = "env-123.apps.googleusercontent.com"
WITH_ENV = {"google": {"SCOPE": ["openid", "profile", "email"], "OAUTH_PKCE_ENABLED": True,
                       "APPS": [{"client_id": ENV_CLIENT, "secret": "env-secret", "key": ""}]}}
WITHOUT_ENV = {"google": {"SCOPE": ["openid", "profile", "email"], "OAUTH_PKCE_ENABLED": True}}


@pytest.mark.django_db
@override_settings(SOCIALACCOUNT_PROVIDERS=WITHOUT_ENV)
def test_no_google_button_when_google_is_not_configured(client):
    assert GOOGLE_LINK not in client.get("/accounts/login/").content


@pytest.mark.django_db
@override_settings(SOCIALACCOUNT_PROVIDERS=WITHOUT_ENV)
def test_a_social_app_row_from_the_admin_shows_the_button_on_sign_in_and_sign_up(client):
    SocialApp.objects.create(provider="google", name="Google", client_id="row-1", secret="row-secret")

    assert client.get("/accounts/login/").content.count(GOOGLE_LINK) == 1
    assert client.get("/accounts/signup/").content.count(GOOGLE_LINK) == 1


@pytest.mark.django_db
@override_settings(SOCIALACCOUNT_PROVIDERS=WITH_ENV)
def test_configured_twice_one_button_and_the_environment_wins(client):
    SocialApp.objects.create(provider="google", name="Google", client_id="row-1", secret="row-secret")

    page = client.get("/accounts/login/")
    started = client.post("/accounts/google/login/?process=login")

    assert page.content.count(GOOGLE_LINK) == 1
    assert started.status_code == 302  # allauth alone raises MultipleObjectsReturned here
    assert f"client_id={ENV_CLIENT}" in started["Location"]


@pytest.fixture
def clean_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_the_lockout_says_when_to_try_again(client, clean_rate_limits):
    User.objects.create_user("alice@a.example", "the-right-password-1")
    for _ in range(5):  # allauth's default: 5 failures per address in 5 minutes
        failed = client.post("/accounts/login/", {"login": "alice@a.example", "password": "wrong-password-1"})
        assert "Try again" not in failed.content.decode()

    locked = client.post("/accounts/login/", {"login": "alice@a.example", "password": "the-right-password-1"})

    assert locked.status_code == 200
    assert "Too many failed sign-in attempts. Try again in 5 minutes." in locked.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "3/10m/key"})
def test_the_wait_is_computed_from_the_configured_limit_and_the_oldest_counted_failure(clean_rate_limits):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.0.0.1")
    rate = ratelimit.parse_rate("3/10m/key")
    key = "testserver:alice@a.example"
    cache_key = ratelimit.get_cache_key(request, app="allauth.account", action="login_failed", rate=rate, key=key)
    now = time.time()
    cache.set(cache_key, [now - 10, now - 100, now - 130, now - 900], 600)  # newest first; the last is stale

    seconds = login_lockout_seconds(request, key=key)

    assert 600 - 130 - 5 < seconds <= 600 - 130  # the failure 130 s ago leaves the window in 470 s
    assert lockout_message(seconds) == "Too many failed sign-in attempts. Try again in 8 minutes."
    assert lockout_message(30) == "Too many failed sign-in attempts. Try again in 1 minute."
    cache.set(cache_key, [now - 10, now - 100], 600)
    assert login_lockout_seconds(request, key=key) == 0


@pytest.mark.django_db
def test_with_the_shared_cache_down_signing_in_is_a_busy_page_not_a_500(client, settings):
    # Given: the cache (Redis), where allauth counts failed sign-ins, refuses connections
    User.objects.create_user("alice@a.example", "the-right-password-1")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:9/0"}}
    client.raise_request_exception = False
    # When: someone signs in
    response = client.post("/accounts/login/", {"login": "alice@a.example", "password": "the-right-password-1"})
    # Then: 503 with Retry-After and words saying what happened, and nobody is signed in
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "cannot be reached just now; try again shortly" in response.content.decode()
    assert "_auth_user_id" not in client.session
