"""Reads of the tracking outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.tenancy import unscoped
from orders.models import Shipment, TrackingOutbox


def tracking_outbox_due_merchant_ids() -> list[int]:
    """Merchants with tracking rows due now: the beat fan-out enqueues one push task per merchant."""
    now = timezone.now()
    with unscoped("beat fan-out: merchants with due tracking rows"):
        return sorted(set(
            TrackingOutbox.objects.filter(processed_at__isnull=True)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by().values_list("merchant_id", flat=True).distinct()
        ))


def shipments_with_tracking(queryset: QuerySet[Shipment]) -> QuerySet[Shipment]:
    """Shipments annotated with their tracking outbox row (one subquery per column, no extra query): what
    `tracking_state` reads to say whether the tracking reached the channel."""
    row = TrackingOutbox.objects.filter(merchant_id=OuterRef("merchant_id"), shipment_id=OuterRef("pk")).order_by()
    return queryset.annotate(
        tracking_row=Exists(row),
        tracking_processed_at=Subquery(row.values("processed_at")[:1]),
        tracking_error=Subquery(row.values("last_error")[:1]),
        tracking_attempts=Subquery(row.values("attempts")[:1]),
        tracking_next_attempt_at=Subquery(row.values("next_attempt_at")[:1]),
    )


@dataclass(frozen=True)
class TrackingState:
    """Whether a shipment's tracking reached its channel. status: "sent" (at `sent_at`), "failed" (the
    channel refused it, `error` in its words: retry by hand), "retrying" (failed for now, `error`, next try
    at `next_attempt_at`), "pending" (not sent yet), "none" (no channel to tell: manual orders, not shipped)."""

    status: str
    sent_at: datetime | None = None
    error: str = ""
    attempts: int = 0
    next_attempt_at: datetime | None = None

    @property
    def can_retry(self) -> bool:
        return self.status in ("failed", "retrying")

    def as_dict(self) -> dict:
        return {"status": self.status, "sent_at": self.sent_at, "error": self.error, "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at}


def tracking_state(shipment: Shipment) -> TrackingState:
    """The state of a shipment annotated by shipments_with_tracking."""
    if not getattr(shipment, "tracking_row", False):
        return TrackingState(status="none")
    processed, error = shipment.tracking_processed_at, shipment.tracking_error or ""
    attempts = shipment.tracking_attempts or 0
    if processed is not None:
        return TrackingState(status="failed" if error else "sent", sent_at=None if error else processed, error=error,
                             attempts=attempts)
    return TrackingState(status="retrying" if error else "pending", error=error, attempts=attempts,
                         next_attempt_at=shipment.tracking_next_attempt_at)
