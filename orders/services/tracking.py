"""The tracking outbox's consumer side: claim due rows, then mark each pushed or schedule it again.

Rows are written by shipment_mark_shipped in the shipment's transaction. A consumer (the channel
sync) claims a batch through core.outbox, pushes each row outside any transaction, and reports
back here; the backoff is core.backoff's, so every outbox retries the same way.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Merchant
from core.backoff import backoff_until
from core.errors import Conflict
from core.outbox import claim_due
from orders.channels import tracking_listeners
from orders.models import Shipment, TrackingOutbox

logger = logging.getLogger(__name__)

# A push that keeps failing is tried again at most this far apart.
RETRY_CAP_SECONDS = 3600.0
RETRY_BASE_SECONDS = 30.0


def tracking_outbox_claim(*, merchant: Merchant, limit: int = 100) -> list[TrackingOutbox]:
    """Claim the merchant's due, unprocessed rows, oldest first; each claim counts an attempt
    (a worker that dies mid-push has tried, and its rows come back after the lease)."""
    return claim_due(
        TrackingOutbox.objects.filter(merchant=merchant, processed_at__isnull=True)
        .select_related("order", "shipment"),
        limit=limit, order_by=("pk",), updates={"attempts": F("attempts") + 1},
    )


def tracking_outbox_done(*, merchant: Merchant, row: TrackingOutbox, channel_fulfillment_id: str = "") -> None:
    """The channel has the tracking (in its fulfillment `channel_fulfillment_id`): the row is finished."""
    now = timezone.now()
    fields = {"processed_at": now, "next_attempt_at": None, "last_error": ""}
    if channel_fulfillment_id:
        fields["channel_fulfillment_id"] = channel_fulfillment_id[:64]
        row.channel_fulfillment_id = channel_fulfillment_id[:64]
    TrackingOutbox.objects.filter(merchant=merchant, pk=row.pk).update(**fields)
    row.processed_at, row.next_attempt_at, row.last_error = now, None, ""


def tracking_outbox_give_up(*, merchant: Merchant, row: TrackingOutbox, error: str) -> None:
    """The channel refused the push for a reason retrying cannot change: finished, with the reason kept."""
    now = timezone.now()
    TrackingOutbox.objects.filter(merchant=merchant, pk=row.pk).update(processed_at=now, next_attempt_at=None,
                                                                      last_error=error[:4000])
    row.processed_at, row.next_attempt_at, row.last_error = now, None, error[:4000]


def tracking_outbox_retry(
    *, merchant: Merchant, row: TrackingOutbox, error: str, retry_after: float | None = None
) -> datetime:
    """The push failed in a way that can recover (throttled, 5xx, time-out): due again after the
    shared backoff for its attempt count, never before the channel's Retry-After."""
    when = backoff_until(max(row.attempts, 1), base=RETRY_BASE_SECONDS, cap=RETRY_CAP_SECONDS,
                         retry_after=retry_after)
    TrackingOutbox.objects.filter(merchant=merchant, pk=row.pk).update(next_attempt_at=when, last_error=error[:4000])
    row.next_attempt_at, row.last_error = when, error[:4000]
    return when


def tracking_outbox_written(*, merchant_id: int) -> None:
    """After the current transaction commits, tell the tracking listeners (integrations' push) that the
    merchant has a row to send: tracking leaves on commit, not on the next beat tick. A listener that fails
    (the broker down) is logged; the beat fan-out sends the row later."""
    hooks = tracking_listeners.items()

    def notify() -> None:
        for name, hook in hooks:
            try:
                hook(merchant_id)
            except Exception:
                logger.exception("orders.tracking.listener_failed", extra={"listener": name, "merchant_id": merchant_id})

    if hooks:
        transaction.on_commit(notify)


@transaction.atomic
def tracking_outbox_retry_now(*, merchant: Merchant, shipment: Shipment) -> TrackingOutbox:
    """"Retry" on a shipment whose tracking the channel refused or has not taken yet: its row is due now
    (the attempts start again) and the push runs after commit. A row already sent is a 409 `tracking_sent`;
    a shipment with no row (manual orders, not shipped) a 409 `no_tracking_push`."""
    row = (TrackingOutbox.objects.select_for_update(of=("self",)).filter(merchant=merchant, shipment_id=shipment.pk)
           .order_by().first())
    if row is None:
        raise Conflict("This shipment has no tracking to send to a channel.", code="no_tracking_push")
    if row.processed_at is not None and not row.last_error:
        raise Conflict("The channel already has this tracking.", code="tracking_sent")
    TrackingOutbox.objects.filter(merchant=merchant, pk=row.pk).update(processed_at=None, next_attempt_at=None,
                                                                      attempts=0)
    row.refresh_from_db()
    tracking_outbox_written(merchant_id=merchant.pk)
    return row
