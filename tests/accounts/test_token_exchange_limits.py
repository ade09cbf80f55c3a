"""POST /api/v1/auth/token/ cannot be used to guess passwords: failed exchanges count against allauth's
per-address and per-client-IP limits on the shared cache, the client IP is REMOTE_ADDR unless
TRUSTED_PROXY_COUNT says how many proxies stand in front, a cache that is down is 503, and someone in
several merchants says which one the token is for."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken, Membership, User
from accounts.services import merchant_create
from accounts.tenancy import unscoped

PASSWORD = "correct-horse-battery-staple-9"
CLOSED_PORT = "redis://127.0.0.1:9/0"

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    user = User.objects.create_user("owner@shop.example", PASSWORD)
    merchant_create(name="Owner Shop", owner=user)
    return user


def _exchange(email: str, password: str, *, forwarded_for: str | None = None, **extra):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    return APIClient().post("/api/v1/auth/token/", {"email": email, "password": password, **extra},
                            format="json", **headers)


def test_five_wrong_passwords_for_an_address_lock_it_even_from_fresh_forged_ips(owner):
    # Given: five wrong passwords for the owner's address, each claiming another client IP
    wrong = [_exchange("owner@shop.example", f"wrong-guess-{i}", forwarded_for=f"203.0.113.{i}").status_code
             for i in range(5)]
    # When: the sixth try comes, with the right password this time
    response = _exchange("owner@shop.example", PASSWORD, forwarded_for="203.0.113.99")
    # Then: refused 429 in the error shape, saying when to try again
    assert wrong == [401] * 5
    assert response.status_code == 429
    body = response.json()["error"]
    assert body["code"] == "too_many_login_attempts"
    assert body["message"].startswith("Too many failed sign-in attempts. Try again in 5 minutes")
    assert 0 < int(response["Retry-After"]) <= 300
    assert body["details"] == {"retry_after_seconds": int(response["Retry-After"])}


def test_a_forged_x_forwarded_for_is_ignored_by_default(owner):
    # Given: ten failed exchanges for ten addresses, each with a different forged X-Forwarded-For
    failed = [_exchange(f"nobody{i}@shop.example", "guess", forwarded_for=f"198.51.100.{i}").status_code
              for i in range(10)]
    # When: an eleventh comes from "yet another IP"
    response = _exchange("owner@shop.example", PASSWORD, forwarded_for="198.51.100.200")
    # Then: they all came from one client (REMOTE_ADDR), which is over allauth's 10 a minute per IP
    assert failed == [401] * 10
    assert (response.status_code, response.json()["error"]["code"]) == (429, "too_many_login_attempts")


def test_behind_one_trusted_proxy_the_forwarded_client_ip_is_the_one_counted(owner, settings):
    # Given: the app runs behind one proxy (TRUSTED_PROXY_COUNT=1 feeds DRF and allauth)
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # When: ten clients behind it fail once each, then an eleventh signs in
    failed = [_exchange(f"nobody{i}@shop.example", "guess", forwarded_for=f"198.51.100.{i}").status_code
              for i in range(10)]
    response = _exchange("owner@shop.example", PASSWORD, forwarded_for="198.51.100.200")
    # Then: each is its own client, so the eleventh gets its token
    assert failed == [401] * 10
    assert response.status_code == 201


def test_the_setting_feeds_both_limiters():
    from django.conf import settings

    assert settings.TRUSTED_PROXY_COUNT == 0
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == 0


def test_with_the_shared_cache_down_the_exchange_is_503_in_the_error_shape(owner, settings):
    # Given: the cache (Redis) refuses connections
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": CLOSED_PORT}}
    # When: a client asks for a token
    response = _exchange("owner@shop.example", PASSWORD)
    # Then: 503 with Retry-After, and no token was made
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "cache_unavailable"
    assert response["Retry-After"] == "30"
    with unscoped("test counts tokens"):
        assert ApiToken.objects.filter(user=owner).count() == 0


def test_someone_in_several_merchants_says_which_one_the_token_is_for(owner):
    # Given: the owner also works for a second merchant, and a third merchant exists they do not belong to
    second = merchant_create(name="Second Shop", owner=User.objects.create_user("boss@second.example", PASSWORD))
    Membership.objects.create(merchant=second, user=owner, role=Membership.Role.STAFF)
    stranger = merchant_create(name="Stranger", owner=User.objects.create_user("x@stranger.example", PASSWORD))
    with unscoped("test finds the owner's first merchant"):
        first = Membership.objects.get(user=owner, role=Membership.Role.OWNER).merchant
    # When: they exchange without a merchant, with the second, and with one not theirs
    ambiguous = _exchange("owner@shop.example", PASSWORD)
    chosen = _exchange("owner@shop.example", PASSWORD, merchant=second.pk)
    unknown = _exchange("owner@shop.example", PASSWORD, merchant=stranger.pk)
    # Then: without one it is refused naming both; the chosen one's token works there; a stranger's is refused
    merchants = [{"id": first.pk, "name": "Owner Shop"}, {"id": second.pk, "name": "Second Shop"}]
    assert ambiguous.status_code == 400
    assert ambiguous.json()["error"]["code"] == "merchant_required"
    assert ambiguous.json()["error"]["details"] == {"merchants": merchants}
    assert chosen.status_code == 201
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {chosen.json()['token']}")
    assert client.get("/api/v1/me/").json()["merchant"]["id"] == second.pk
    assert unknown.status_code == 400
    assert (unknown.json()["error"]["code"], unknown.json()["error"]["details"]) == ("unknown_merchant",
                                                                                   {"merchants": merchants})


def test_behind_two_proxies_a_request_that_skipped_one_is_counted_not_a_500(owner, settings):
    # Given: the app runs behind two proxies, and a client reaches the inner one directly (one address
    # in X-Forwarded-For where two proxies would have written two)
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}
    # When: it fails ten times from "different" addresses, then tries again
    failed = [_exchange(f"nobody{i}@shop.example", "guess", forwarded_for=f"198.51.100.{i}").status_code
              for i in range(10)]
    # Then: no 500 (allauth raised ImproperlyConfigured): each is answered, each counted as the address the
    # proxy wrote, as DRF counts it
    assert failed == [401] * 10
    assert _exchange("owner@shop.example", PASSWORD, forwarded_for="198.51.100.200").status_code == 201
