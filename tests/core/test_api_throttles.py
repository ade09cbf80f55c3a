"""API throttles (core.throttles): a budget per API token, counted on the shared cache so every web
worker counts the same requests; over it, 429 in the error shape with Retry-After. Webhook endpoints are
not API views and never throttled."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import api_token_create
from accounts.tenancy import tenant_scope
from config.env import ConfigurationError, read_env
from core.rates import rate_parse
from tests.gunicorn_server import gunicorn_serving, http_get

pytestmark = pytest.mark.redis


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()
    yield
    cache.clear()


def _second_token(tenant) -> str:
    with tenant_scope(tenant.merchant):
        _, raw = api_token_create(merchant=tenant.merchant, user=tenant.user, name="second script")
    return raw


@pytest.mark.django_db
def test_a_token_over_its_budget_gets_429_in_the_error_shape_and_other_tokens_go_on(merchant_a, settings):
    # Given: three requests a minute per token
    settings.API_THROTTLE_RATE = "3/min"
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {_second_token(merchant_a)}")
    # When: one token asks four times, then the merchant's other token asks
    codes = [merchant_a.api.get("/api/v1/orders/").status_code for _ in range(4)]
    refused = merchant_a.api.get("/api/v1/orders/")
    second = other.get("/api/v1/orders/")
    # Then: the fourth and later are 429 with Retry-After within the minute; the other token is untouched
    assert codes == [200, 200, 200, 429]
    assert refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert second.status_code == 200


@pytest.mark.django_db
def test_the_dashboard_session_counts_per_user_and_webhooks_are_never_throttled(merchant_a, settings, client):
    settings.API_THROTTLE_RATE = "2/min"
    merchant_a.web.get("/api/v1/orders/")
    merchant_a.web.get("/api/v1/orders/")
    assert merchant_a.web.get("/api/v1/orders/").status_code == 429
    # A marketplace's burst to the webhook endpoint is refused only for what it is (an unknown store: 401)
    codes = {client.post("/webhooks/shopify/unknown-token/", data=b"{}", content_type="application/json").status_code
             for _ in range(5)}
    assert codes == {401}


def test_a_malformed_rate_stops_start_up_naming_the_variable():
    with pytest.raises(ConfigurationError) as caught:
        read_env({"API_THROTTLE_RATE": "lots", "API_THROTTLE_ANON_RATE": "5/fortnight"})
    text = str(caught.value)
    assert "API_THROTTLE_RATE must be" in text and "API_THROTTLE_ANON_RATE must be" in text
    assert rate_parse("600/min") == (600, 60) and rate_parse("10/hour") == (10, 3600)


@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_workers_share_one_budget(merchant_a, tmp_path):
    # Given: the app under gunicorn (deploy/gunicorn.conf.py) with two worker processes, ten requests a day per token
    env = {"API_THROTTLE_RATE": "10/day", "GUNICORN_WORKERS": "2"}
    with gunicorn_serving(tmp_path, env, "%(p)s %(s)s") as (base, log):
        url = f"{base}/api/v1/orders/"
        # When: 40 requests with one token, four at a time, each on its own connection
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda _: http_get(url, merchant_a.token)[0], range(40)))
    # Then: exactly ten were let through across both workers, and both workers answered some
    assert sorted(codes).count(200) == 10 and codes.count(429) == 30, codes
    pids = {line.split()[0] for line in log.read_text().splitlines() if line.endswith(("200", "429"))}
    assert len(pids) == 2, log.read_text()
