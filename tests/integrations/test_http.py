"""core.http: the error family by status, retries only of what can recover, time-outs, logs
without secrets, and the token bucket shared by every client of one integration (Redis, or in-process)."""

from __future__ import annotations

import logging
import uuid

import pytest

from core.http import (
    AuthFailed,
    Budget,
    HttpClient,
    LocalBucketStore,
    RedisBucketStore,
    Rejected,
    Throttled,
    Transient,
)

QUERY = {"query": "query { shop { name } }"}


def moving_clock():
    """A clock that sleeping moves; returns (clock, sleep, slept)."""
    now, slept = [1_000_000.0], []

    def sleep(seconds):
        slept.append(round(seconds, 3))
        now[0] += seconds

    return (lambda: now[0]), sleep, slept


def client(**options):
    options.setdefault("budget", Budget(rate=100.0, burst=100.0))
    return HttpClient(budget_key=f"test:{uuid.uuid4()}", backoff_base=0.01, backoff_cap=0.02, **options)


def post(http, fake, shop, token):
    return http.request("POST", fake.graphql_url(shop.domain), operation="graphql", json=QUERY,
                        headers={"X-Shopify-Access-Token": token})


@pytest.mark.parametrize(("status", "error"), [(401, AuthFailed), (403, AuthFailed), (400, Rejected),
                                               (404, Rejected), (422, Rejected)])
def test_refusals_raise_their_class_and_are_never_retried(shopify_fake, shopify_shop, shopify_token, status, error):
    shopify_fake.fail_next(1, status=status)

    with pytest.raises(error) as raised:
        post(client(), shopify_fake, shopify_shop, shopify_token)

    assert raised.value.status == status
    assert len(shopify_fake.calls()) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_what_can_recover_is_retried_until_it_does(shopify_fake, shopify_shop, shopify_token, status):
    shopify_fake.fail_next(2, status=status, retry_after=0.01)

    response = post(client(), shopify_fake, shopify_shop, shopify_token)

    assert response.status_code == 200
    assert [c.status for c in shopify_fake.calls()] == [status, status, 200]


def test_attempts_are_capped_and_the_last_error_surfaces(shopify_fake, shopify_shop, shopify_token):
    shopify_fake.fail_next(5, status=503)

    with pytest.raises(Transient) as raised:
        post(client(max_attempts=3), shopify_fake, shopify_shop, shopify_token)

    assert raised.value.status == 503
    assert len(shopify_fake.calls()) == 3


def test_retry_after_is_a_floor_for_the_backoff(shopify_fake, shopify_shop, shopify_token):
    clock, sleep, slept = moving_clock()
    shopify_fake.fail_next(1, status=429, retry_after=1.5)

    post(client(sleep=sleep, clock=clock), shopify_fake, shopify_shop, shopify_token)

    assert slept == [1.5]


def test_a_connection_refused_is_transient():
    http = client(max_attempts=2, timeout=(0.5, 0.5))

    with pytest.raises(Transient, match="connection failed"):
        http.request("POST", "http://127.0.0.1:9/admin/api/2026-10/graphql.json", operation="graphql", json=QUERY)


def test_a_read_timeout_is_transient(shopify_fake, shopify_shop, shopify_token):
    shopify_fake.fail_next(1, status=200, delay=0.6)

    with pytest.raises(Transient, match="timed out"):
        post(client(max_attempts=1, timeout=(1.0, 0.2)), shopify_fake, shopify_shop, shopify_token)


def test_logs_name_the_call_but_never_the_token_or_the_body(shopify_fake, shopify_shop, shopify_token, caplog):
    shopify_fake.fail_next(1, status=500)

    with caplog.at_level(logging.INFO, logger="core.http"):
        post(client(), shopify_fake, shopify_shop, shopify_token)

    calls = [r for r in caplog.records if r.msg.startswith("core.http.call ")]
    assert [(r.method, r.path, r.status) for r in calls] == [
        ("POST", f"/{shopify_shop.domain}/admin/api/2026-10/graphql.json", 500),
        ("POST", f"/{shopify_shop.domain}/admin/api/2026-10/graphql.json", 200)]
    assert calls[0].getMessage().startswith(
        f"core.http.call method=POST path=/{shopify_shop.domain}/admin/api/2026-10/graphql.json status=500")
    everything = " ".join([r.getMessage() for r in caplog.records]
                          + [str(v) for r in caplog.records for v in vars(r).values()])
    assert shopify_token not in everything
    assert "shop { name }" not in everything


def shared_budget_waits(first, second):
    """Three calls fit the burst of 3; the fourth, from the other client, waits for one token at 2/s."""
    for http in (first, second, first):
        http.wait_for_budget("orders")
    second.wait_for_budget("orders")
    first.wait_for_budget("push")  # another operation draws on its own budget


@pytest.mark.redis
def test_two_clients_of_one_integration_share_one_budget_in_redis(settings):
    clock, sleep, slept = moving_clock()
    key, budget = f"test:{uuid.uuid4()}", Budget(rate=2.0, burst=3.0)
    first = HttpClient(budget_key=key, budget=budget, sleep=sleep, clock=clock)
    # another worker: its own connection to Redis
    second = HttpClient(budget_key=key, budget=budget, sleep=sleep, clock=clock,
                        store=RedisBucketStore(settings.REDIS_URL))

    shared_budget_waits(first, second)

    assert isinstance(first.store, RedisBucketStore) and first.store is not second.store
    assert slept == [0.5]
    other = HttpClient(budget_key=f"test:{uuid.uuid4()}", budget=budget, sleep=sleep, clock=clock)
    for _ in range(3):
        other.wait_for_budget("orders")  # another integration: a budget of its own
    assert slept == [0.5]


def test_without_redis_the_budget_is_shared_in_process(settings):
    settings.REDIS_URL = None
    clock, sleep, slept = moving_clock()
    key, budget = f"test:{uuid.uuid4()}", Budget(rate=2.0, burst=3.0)
    first = HttpClient(budget_key=key, budget=budget, sleep=sleep, clock=clock)
    second = HttpClient(budget_key=key, budget=budget, sleep=sleep, clock=clock)

    shared_budget_waits(first, second)

    assert isinstance(first.store, LocalBucketStore) and first.store is second.store
    assert slept == [0.5]


def test_throttled_carries_retry_after(shopify_fake, shopify_shop, shopify_token):
    shopify_fake.fail_next(1, status=429, retry_after=2.5)

    with pytest.raises(Throttled) as raised:
        post(client(max_attempts=1), shopify_fake, shopify_shop, shopify_token)

    assert raised.value.retry_after == 2.5
