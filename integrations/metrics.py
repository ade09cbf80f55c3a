"""Scrape-time gauges for connected stores (core.metrics.gauge_sources)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import Metric

from accounts.tenancy import unscoped
from core.metrics import gauge
from integrations.models import Integration


def integration_gauges() -> Iterable[Metric]:
    """Stores by channel and status (needs_reconnect is the alert), and each active store's sync lag:
    seconds since its last successful call to the channel (since it was connected, if none yet)."""
    now = timezone.now()
    with unscoped("metrics: stores of every merchant"):
        counts = list(Integration.objects.values_list("channel", "status").annotate(n=Count("id")).order_by())
        active = list(Integration.objects.filter(status=Integration.Status.ACTIVE)
                      .values_list("pk", "channel", "last_success_at", "created_at").order_by("pk"))
    return [
        gauge("switchboard_integrations", "Connected stores by channel and status.", ["channel", "status"],
              [((channel, status), n) for channel, status, n in counts]),
        gauge("switchboard_integration_sync_lag_seconds",
              "Seconds since an active store's last successful call to its channel.", ["integration", "channel"],
              [((pk, channel), (now - (last or created)).total_seconds()) for pk, channel, last, created in active]),
    ]
