"""The Amazon client against the fake: LWA tokens shared and refreshed once, dropped on a 403, LWA's refusals
in our words, 429 backed off, Amazon's per-operation budgets keyed by seller."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest

from core.http import AuthFailed
from integrations.channels.amazon.client import (
    USAGE_PLANS,
    AmazonClient,
    AmazonThrottled,
    LwaClientRefused,
    LwaGrantRefused,
    TokenCache,
)
from tests.fakes.amazon.server import iso
from tests.worker_process import ROOT

pytestmark = pytest.mark.redis


def _client(env, **overrides) -> AmazonClient:
    credentials = env.credentials(**overrides)
    return AmazonClient(seller_id=credentials["seller_id"], region="na", refresh_token=credentials["refresh_token"],
                        client_id=credentials["lwa_client_id"], client_secret=credentials["lwa_client_secret"])


def _search(client: AmazonClient) -> dict:
    return client.search_orders({"lastUpdatedAfter": iso(datetime.now(UTC).timestamp() - 3600),
                                 "marketplaceIds": ["ATVPDKIKX0DER"]})


def test_one_token_serves_many_calls_and_many_workers(amazon):
    # given two clients of one seller in four threads (two workers' worth), calling at once
    clients = [_client(amazon) for _ in range(4)]
    errors: list[BaseException] = []

    def work(client: AmazonClient) -> None:
        try:
            for _ in range(3):
                client.search_listings("ATVPDKIKX0DER", None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # then twelve calls went out on one LWA exchange
    assert errors == []
    assert len(amazon.fake.calls("searchListingsItems", status=200)) == 12
    assert amazon.fake.token_exchanges() == 1


def test_a_token_is_refreshed_shortly_before_its_expires_in_not_after(amazon):
    amazon.fake.token_lifetime = 60  # a short-lived token: kept 54 s (a tenth of its life as the margin)
    first = _client(amazon)
    first.search_listings("ATVPDKIKX0DER", None)
    later = _client(amazon)
    later.clock = lambda: time.time() + 53  # 53 s on: still good
    later.search_listings("ATVPDKIKX0DER", None)
    last = _client(amazon)
    last.clock = lambda: time.time() + 55  # 55 s on: inside the margin, refreshed before Amazon refuses it

    last.search_listings("ATVPDKIKX0DER", None)

    assert amazon.fake.calls("searchListingsItems", status=403) == []
    assert amazon.fake.token_exchanges() == 2


def test_a_token_amazon_refuses_is_dropped_and_the_call_sent_once_more(amazon):
    client = _client(amazon)
    client.search_listings("ATVPDKIKX0DER", None)
    amazon.fake.expire_tokens()  # Amazon stops honouring it before we thought it would lapse

    client.search_listings("ATVPDKIKX0DER", None)

    assert [c.status for c in amazon.fake.calls("searchListingsItems")] == [200, 403, 200]
    assert amazon.fake.token_exchanges() == 2


def test_the_token_is_kept_in_redis_for_other_processes(amazon):
    client = _client(amazon)
    client.search_listings("ATVPDKIKX0DER", None)

    cached = TokenCache().get(client.cache_key, datetime.now(UTC).timestamp())

    assert cached is not None and cached.value.startswith("Atza|")
    assert cached.expires_at < datetime.now(UTC).timestamp() + 3600 - 59


def test_invalid_grant_means_reconnect_and_invalid_client_names_the_apps_credentials(amazon):
    amazon.fake.revoke(amazon.seller)

    with pytest.raises(LwaGrantRefused) as grant:
        _client(amazon).search_listings("ATVPDKIKX0DER", None)
    with pytest.raises(LwaClientRefused) as client:
        _client(amazon, lwa_client_secret="wrong").search_listings("ATVPDKIKX0DER", None)

    assert isinstance(grant.value, AuthFailed) and grant.value.code == "invalid_grant"
    assert isinstance(client.value, AuthFailed) and "client id or secret" in client.value.message
    assert amazon.fake.calls("searchListingsItems") == []


def test_a_429_is_backed_off_by_at_least_one_tokens_refill_never_retried_at_once(amazon, settings):
    settings.CHANNEL_HTTP_MAX_ATTEMPTS = 1
    client = _client(amazon)
    amazon.fake.time_scale = 1e-9  # Amazon's bucket refills no more during this test
    for _ in range(5):  # searchListingsItems' burst, spent on Amazon's side by another app of the seller's
        amazon.fake.take(amazon.seller, "searchListingsItems")

    with pytest.raises(AmazonThrottled) as throttled:
        client.search_listings("ATVPDKIKX0DER", None)

    assert throttled.value.code == "QuotaExceeded"
    assert throttled.value.retry_after == pytest.approx(1 / (5.0 * 100))
    assert client.rate_limits["searchListingsItems"] == 5.0


def test_budgets_are_amazons_plans_keyed_by_seller(amazon):
    client = _client(amazon)

    assert client.http.budget_key == f"amazon:{amazon.seller.seller_id}"
    assert {op: (b.rate / amazon.fake.time_scale, b.burst) for op, b in client.budgets.items()
            if op in ("searchOrders", "confirmShipment", "patchListingsItem", "createFeed")} == {
        "searchOrders": pytest.approx(USAGE_PLANS["searchOrders"]), "confirmShipment": (2.0, 10),
        "patchListingsItem": (5.0, 5), "createFeed": pytest.approx(USAGE_PLANS["createFeed"])}


# One worker process: a fresh interpreter (not a fork of this one, whose other threads may hold a lock at the
# moment of the fork and leave the child waiting on it for good), its own client and Redis connection, the
# shared token. The fake's addresses come through the environment variables production reads.
_WORKER = """
import os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from integrations.channels.amazon.client import AmazonClient
seller_id, refresh_token, client_id, client_secret, calls = sys.argv[1:6]
client = AmazonClient(seller_id=seller_id, region="na", refresh_token=refresh_token, client_id=client_id,
                      client_secret=client_secret)
for _ in range(int(calls)):
    client.search_listings("ATVPDKIKX0DER", None)
print("calls made:", calls)
"""


def _worker_start(amazon, calls: int) -> subprocess.Popen:
    from django.conf import settings

    c = amazon.credentials()
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "AMAZON_SPAPI_ENDPOINT": amazon.fake.base_url,
           "AMAZON_LWA_TOKEN_URL": amazon.fake.lwa_url, "AMAZON_SPAPI_RATE_SCALE": str(amazon.fake.time_scale)}
    return subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", _WORKER, c["seller_id"], c["refresh_token"], c["lwa_client_id"],
         c["lwa_client_secret"], str(calls)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_two_worker_processes_share_one_token_and_survive_its_early_expiry(amazon):
    # given a token in Redis that Amazon has stopped honouring
    _client(amazon).search_listings("ATVPDKIKX0DER", None)
    amazon.fake.expire_tokens()

    # when two worker processes make 20 calls each
    workers = [_worker_start(amazon, 20) for _ in range(2)]
    # (an upper bound on a broken run, the machine may be loaded; not a timing assertion)
    outputs = [w.communicate(timeout=300)[0].decode(errors="replace") for w in workers]

    # then every call succeeded, at most one 403 each, and the token was exchanged again once or twice
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert all("calls made: 20" in out for out in outputs), outputs
    assert len(amazon.fake.calls("searchListingsItems", status=200)) == 41
    assert len(amazon.fake.calls("searchListingsItems", status=403)) <= 2
    assert 2 <= amazon.fake.token_exchanges() <= 3


def test_without_redis_the_token_is_shared_in_this_process(amazon):
    cache = TokenCache(url="")
    clients = [_client(amazon) for _ in range(2)]
    for client in clients:
        client.cache = cache

    for client in clients:
        client.search_listings("ATVPDKIKX0DER", None)

    assert amazon.fake.token_exchanges() == 1
    assert cache.get(clients[0].cache_key, time.time()) is not None
