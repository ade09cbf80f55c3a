"""API throttles (core.throttles): a budget per API token, counted on the shared cache so every web
worker counts the same requests; over it, 429 in the error shape with Retry-After. Webhook endpoints are
not API views and never throttled."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.services import api_token_create
from accounts.tenancy import tenant_scope
from config.env import ConfigurationError, read_env
from core.rates import rate_parse

ROOT = Path(__file__).resolve().parents[2]
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our loopback server
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _answers(url: str) -> bool:
    try:
        return _get(url, "") == 200
    except urllib.error.URLError:  # not listening yet
        return False


@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_workers_share_one_budget(merchant_a, tmp_path):
    # Given: the app under gunicorn (deploy/gunicorn.conf.py) with two worker processes, ten requests a day per token
    db = connection.settings_dict
    port, log = _free_port(), tmp_path / "access.log"
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "API_THROTTLE_RATE": "10/day",
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2",
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi",  # the shipped config
         "--access-logfile", str(log), "--access-logformat", "%(p)s %(s)s"],
        cwd=ROOT, env=env, stdout=(tmp_path / "server.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/orders/"
        deadline = time.monotonic() + 60  # an upper bound on waiting for start-up, not a timing assertion
        while not _answers(f"http://127.0.0.1:{port}/healthz"):
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        # When: 40 requests with one token, eight at a time, each on its own connection
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: _get(url, merchant_a.token), range(40)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Then: exactly ten were let through across both workers, and both workers answered some
    assert sorted(codes).count(200) == 10 and codes.count(429) == 30, codes
    pids = {line.split()[0] for line in log.read_text().splitlines() if line.endswith(("200", "429"))}
    assert len(pids) == 2, log.read_text()
