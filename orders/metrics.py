"""Scrape-time gauges for the tracking outbox (core.metrics.gauge_sources)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import Metric

from accounts.tenancy import unscoped
from core.metrics import gauge
from orders.models import TrackingOutbox


def outbox_gauges() -> Iterable[Metric]:
    with unscoped("metrics: tracking outbox of every merchant"):
        pending = TrackingOutbox.objects.filter(processed_at__isnull=True).count()
    return [gauge("switchboard_outbox_depth", "Rows an outbox consumer has still to handle.", ["outbox"],
                  [(("tracking",), pending)])]
