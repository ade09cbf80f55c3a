"""GET /metrics: hidden without a configured token, 401 without the right one; every metric named; counters
move where the events happen (a request, a vendor's 429); the state gauges are read from the database; and
under gunicorn's several workers one scrape sums what every worker counted."""

from __future__ import annotations

import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import redis
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.tenancy import tenant_scope
from core.http import Budget, HttpClient, Throttled
from integrations.models import Integration
from jobs.models import WorkerJob
from tests.fakes.loopback import LoopbackServer
from tests.gunicorn_server import gunicorn_serving, http_get
from tests.integrations.helpers import make_integration
from webhooks.models import WebhookEndpoint, WebhookEvent

TOKEN = "metrics-test-token-0123456789"

NAMES = {
    "switchboard_http_request_duration_seconds", "switchboard_label_purchases_total",
    "switchboard_upstream_throttled_total", "switchboard_stock_push_duration_seconds", "switchboard_queue_depth",
    "switchboard_webhook_events", "switchboard_outbox_depth", "switchboard_jobs", "switchboard_integrations",
    "switchboard_integration_sync_lag_seconds",
}


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def value(body: str, name: str, **labels: str) -> float:
    """The sample `name{labels}` (0 when absent: a labelled counter appears once it first moves)."""
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_no_token_configured_means_no_page(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_without_the_right_token_it_is_401_in_the_error_shape(client, token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.get("/metrics", **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"
    assert b"switchboard_" not in response.content


@pytest.mark.django_db
def test_every_metric_is_named_in_a_scrape(client, token):
    body = scrape(client)

    names = {family.name for family in text_string_to_metric_families(body)}
    # The parser drops a counter's _total suffix from the family name.
    assert {n.removesuffix("_total") for n in NAMES} <= names, sorted(names)
    assert value(body, "switchboard_gauge_source_failed") == 0  # every source read


@pytest.mark.django_db
def test_request_latency_counts_each_request_by_its_route(client, token):
    before = value(scrape(client), "switchboard_http_request_duration_seconds_count", route="healthz", status="200")

    for _ in range(3):
        client.get("/healthz")
    client.get("/no-such-page-anywhere/12345/")

    body = scrape(client)
    assert value(body, "switchboard_http_request_duration_seconds_count", route="healthz",
                 status="200") == before + 3
    assert value(body, "switchboard_http_request_duration_seconds_count", route="unmatched", status="404") >= 1
    assert "no-such-page-anywhere" not in body  # the raw path never becomes a label (its number could match a timestamp)


@pytest.mark.django_db
def test_a_429_from_a_vendor_is_counted_by_its_host(client, token, settings):
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    before = value(scrape(client), "switchboard_upstream_throttled_total", host="127.0.0.1")
    http = HttpClient(budget_key=f"test:{uuid.uuid4()}", budget=Budget(rate=100.0, burst=100.0), max_attempts=2,
                      timeout=(1.0, 1.0), sleep=lambda _: None)

    with LoopbackServer({"/busy": (429, {"Retry-After": "0"})}) as server:
        with pytest.raises(Throttled):
            http.request("GET", server.url("/busy"), operation="probe")
        http.request("GET", server.url("/fine"), operation="probe")

    # Both attempts were refused with a 429 (the retry too), the 200 is not counted.
    assert value(scrape(client), "switchboard_upstream_throttled_total", host="127.0.0.1") == before + 2


@pytest.mark.django_db
def test_state_gauges_are_read_from_the_database(client, token, merchant_a, merchant_b):
    # Given stores of two merchants, one needing reconnection; a dead delivery; a queued and a failed job
    with tenant_scope(merchant_a.merchant):
        lagging = make_integration(merchant_a.merchant, name="Lagging shop")
        Integration.objects.filter(pk=lagging.pk).update(last_success_at=timezone.now() - timedelta(hours=2))
        endpoint = WebhookEndpoint.objects.create(merchant=merchant_a.merchant, kind="channel", slug="shopify",
                                                  integration=lagging)
        WebhookEvent.objects.create(merchant=merchant_a.merchant, endpoint=endpoint, integration=lagging,
                                    channel="shopify", topic="orders/create", delivery_id="d-1",
                                    status=WebhookEvent.Status.DEAD)
        WebhookEvent.objects.create(merchant=merchant_a.merchant, endpoint=endpoint, integration=lagging,
                                    channel="shopify", topic="orders/create", delivery_id="d-2")
        WorkerJob.objects.create(merchant=merchant_a.merchant, kind="metrics.test")
        WorkerJob.objects.create(merchant=merchant_a.merchant, kind="metrics.test", status=WorkerJob.Status.FAILED,
                                 finished_at=timezone.now())
    with tenant_scope(merchant_b.merchant):
        broken = make_integration(merchant_b.merchant, name="Broken shop")
        Integration.objects.filter(pk=broken.pk).update(status=Integration.Status.NEEDS_RECONNECT)

    # When scraped (outside any tenant scope, as Prometheus is)
    body = scrape(client)

    # Then every merchant's rows are counted
    assert value(body, "switchboard_integrations", channel="shopify", status="needs_reconnect") == 1
    assert value(body, "switchboard_integrations", channel="shopify", status="active") == 1
    assert value(body, "switchboard_webhook_events", channel="shopify", status="dead") == 1
    assert value(body, "switchboard_webhook_events", channel="shopify", status="received") == 1
    assert value(body, "switchboard_outbox_depth", outbox="webhook_inbox") == 1  # dead waits for a person
    assert value(body, "switchboard_outbox_depth", outbox="tracking") == 0
    assert value(body, "switchboard_jobs", kind="metrics.test", status="queued") == 1
    assert value(body, "switchboard_jobs", kind="metrics.test", status="failed") == 1
    lag = value(body, "switchboard_integration_sync_lag_seconds", integration=str(lagging.pk), channel="shopify")
    assert 2 * 3600 <= lag < 3 * 3600
    # only active stores have a lag
    assert f'integration="{broken.pk}"' not in body


# ---------------------------------------------------------------- several worker processes


@pytest.mark.django_db(transaction=True)
def test_under_two_gunicorn_workers_each_scrape_sums_every_worker(tmp_path):
    # Given the app under the shipped gunicorn config with two workers and a multiprocess directory
    env = {"METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), "GUNICORN_WORKERS": "2",
           "GUNICORN_TIMEOUT": "300"}  # the held request below must not get its worker killed on a loaded machine
    with gunicorn_serving(tmp_path, env, "%(p)s %(U)s %(s)s") as (base, log):
        # When one worker is held by a request whose headers have not all arrived (sync workers serve one
        # connection at a time, and the kernel hands connections out in order), so that the other must serve
        # the next 40, sent eight at a time, each on its own connection; then the held one ends; then four scrapes
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=300) as held:
            held.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            with ThreadPoolExecutor(8) as pool:
                codes = list(pool.map(lambda _: http_get(f"{base}/healthz")[0], range(40)))
            held.sendall(b"Connection: close\r\n\r\n")
            assert held.makefile("rb").readline().split()[1] == b"200"
        scrapes = [http_get(f"{base}/metrics", TOKEN) for _ in range(4)]
    assert set(codes) == {200}
    # Then both workers served requests, and every scrape (whichever worker answered) counts all of them
    lines = [line.split() for line in log.read_text().splitlines()]
    healthz = [pid for pid, path, status in lines if path == "/healthz" and status == "200"]
    assert len(set(healthz)) == 2, log.read_text()
    served = len(healthz)
    for status, body in scrapes:
        assert status == 200
        assert value(body, "switchboard_http_request_duration_seconds_count", route="healthz", status="200") == served



@pytest.mark.django_db
def test_queue_depth_is_read_from_the_broker(client, token, settings):
    # Given two messages waiting in the broker's Redis list for the default queue (never consumed: removed after)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    before = value(scrape(client), "switchboard_queue_depth", queue="celery")
    marker = f"metrics-test-{uuid.uuid4()}"
    broker.lpush("celery", marker, marker)
    try:
        # When scraped, Then they are counted
        assert value(scrape(client), "switchboard_queue_depth", queue="celery") == before + 2
    finally:
        broker.lrem("celery", 0, marker)
