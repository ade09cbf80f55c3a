"""Prometheus metrics: the counters and histograms where events happen, the gauges read at scrape time.

Events (a request served, a label bought, a 429 received, a stock push) are counted in the process that
sees them. Under gunicorn's several workers (and Celery's) each process counts alone; with
PROMETHEUS_MULTIPROC_DIR set (one directory shared by the web and worker processes of a host, emptied
at start by deploy/gunicorn.conf.py) prometheus-client writes them to files there and a scrape sums
every process's files, so it does not matter which worker answers.

States (queue and outbox depth, webhooks and jobs by status, stores needing reconnection, sync lag) are
not counted at all: they are read from PostgreSQL and Redis when scraped, where they are the truth, so
every worker answers the same and a restart loses nothing. Higher apps register their readers in
`gauge_sources` from AppConfig.ready() (core cannot name their models); each returns metric families.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Iterable

import redis
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from core.api import error_body
from core.registry import Registry

logger = logging.getLogger("core.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "switchboard_http_request_duration_seconds", "Time to answer a request, by route pattern (never the raw path).",
    ["method", "route", "status"])
LABEL_PURCHASES = Counter(
    "switchboard_label_purchases_total",
    "Label purchase attempts by carrier and outcome: bought, refused (the carrier said no), unanswered.",
    ["carrier", "outcome"])
UPSTREAM_THROTTLED = Counter(
    "switchboard_upstream_throttled_total", "429 Too Many Requests received from a channel's or carrier's host.",
    ["host"])
PUSH_SECONDS = Histogram(
    "switchboard_stock_push_duration_seconds", "Time a channel took to take one stock push (a batch of listings).",
    ["channel", "outcome"], buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))

gauge_sources: Registry[Callable[[], Iterable[Metric]]] = Registry("core.metrics.gauge_sources")


def gauge(name: str, documentation: str, labels: list[str], rows: Iterable[tuple[tuple[str, ...], float]],
          ) -> GaugeMetricFamily:
    """A gauge family from `(label values, value)` rows: what a gauge source returns."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for values, value in rows:
        family.add_metric([str(v) for v in values], value)
    return family


def queue_depth() -> Iterable[Metric]:
    """Tasks waiting in the broker's queue (kombu keeps a Redis list per queue and priority step)."""
    if not str(settings.CELERY_BROKER_URL).startswith("redis"):
        return []
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
    queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    keys = [queue, *(f"{queue}\x06\x16{step}" for step in (3, 6, 9))]
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.llen(key)
        depth = sum(pipe.execute())
    return [gauge("switchboard_queue_depth", "Tasks waiting in the Celery broker queue.", ["queue"],
                  [((queue,), depth)])]


class _ScrapeTimeGauges:
    """Every registered gauge source, read on each scrape; one that fails is skipped and counted, so a
    Redis outage still leaves the database's gauges (and the failure) visible."""

    def collect(self) -> Iterable[Metric]:
        failed, families = [], {}
        for name, source in [("queue", queue_depth), *gauge_sources.items()]:
            try:
                read = list(source())
            except Exception:  # noqa: BLE001 - a broken source must not hide the others
                logger.exception("core.metrics.gauge_source_failed source=%s", name)
                failed.append(((name,), 1))
                continue
            for family in read:  # two apps may each add samples to one family (outbox depth by outbox)
                if family.name in families:
                    families[family.name].samples.extend(family.samples)
                else:
                    families[family.name] = family
        yield from families.values()
        yield gauge("switchboard_gauge_source_failed", "1 when a scrape-time gauge source could not be read.",
                    ["source"], failed)


def exposition() -> bytes:
    """The scrape body: this process's (or, in multiprocess mode, every process's) events, then the gauges."""
    if os.environ.get(MULTIPROC_ENV):
        events = CollectorRegistry()
        MultiProcessCollector(events)
    else:
        events = REGISTRY
    states = CollectorRegistry(auto_describe=False)
    states.register(_ScrapeTimeGauges())
    return generate_latest(events) + generate_latest(states)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics with `Authorization: Bearer $METRICS_TOKEN`. No token configured: the page does not
    exist (404), so an instance that never set one exposes nothing."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    offered = request.headers.get("Authorization", "")
    scheme, _, value = offered.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        response = JsonResponse(error_body("not_authenticated",
                                           "Send the metrics token as `Authorization: Bearer <token>`."), status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
