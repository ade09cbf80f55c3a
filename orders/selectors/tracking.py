"""Reads of the tracking outbox."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from accounts.tenancy import unscoped
from orders.models import TrackingOutbox


def tracking_outbox_due_merchant_ids() -> list[int]:
    """Merchants with tracking rows due now: the beat fan-out enqueues one push task per merchant."""
    now = timezone.now()
    with unscoped("beat fan-out: merchants with due tracking rows"):
        return sorted(set(
            TrackingOutbox.objects.filter(processed_at__isnull=True)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by().values_list("merchant_id", flat=True).distinct()
        ))
