"""Tracking back: TrackingOutbox rows (written with each shipped shipment of a channel order) become
fulfillments on the channel, each exactly once in effect.

Rows are claimed through orders' outbox services (SKIP LOCKED with a lease), pushed outside any
transaction, and marked done or due again after the shared backoff. The adapter returns a fulfillment
already carrying the shipment's tracking number instead of creating a second one, so a push whose
answer was lost and is retried does not fulfil twice; the channel's fulfillment id is kept on the row
so a later push of the same shipment (new tracking after a re-ship) updates it.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

from accounts.models import Merchant
from core.enqueue import enqueue_on_commit
from core.http import AuthFailed, ExternalError, Throttled
from integrations.channels.base import TrackingPush
from integrations.models import Integration
from integrations.sync.common import RETRYABLE, ChannelSession, sync_failed, sync_succeeded
from orders.models import Order, OrderStatus, Shipment, ShipmentLine, TrackingOutbox
from orders.selectors.tracking import tracking_outbox_due_merchant_ids
from orders.services.tracking import (
    tracking_outbox_claim,
    tracking_outbox_done,
    tracking_outbox_give_up,
    tracking_outbox_retry,
)

logger = logging.getLogger("integrations.sync")

RECONNECT_RETRY_SECONDS = 3600.0
PUSH_TASK = "integrations.tracking_push"
PENDING_KEY = "integrations:tracking_push:{merchant_id}"
PENDING_SECONDS = 30


def tracking_push_schedule(merchant_id: int) -> bool:
    """orders' tracking listener, called after a shipment's row commits: one tracking push for the merchant
    now, unless one is already waiting to start (the cache key, cleared when the push starts, so a row
    written after that start schedules the next). Returns whether a push was enqueued."""
    if not cache.add(PENDING_KEY.format(merchant_id=merchant_id), 1, timeout=PENDING_SECONDS):
        return False
    enqueue_on_commit(PUSH_TASK, merchant_id=merchant_id)
    return True


def tracking_push_build(*, merchant: Merchant, row: TrackingOutbox) -> TrackingPush:
    """The adapter's TrackingPush for one outbox row: the shipment's lines by their channel line ids, when
    it left and with which service, whether the order is complete with it, and the order's channel_data
    as its adapter gave it at ingest."""
    shipment, order = row.shipment, row.order
    lines = [(external_id, quantity) for external_id, quantity in
             ShipmentLine.objects.filter(merchant=merchant, shipment=shipment).exclude(order_line__external_id="")
             .order_by("id").values_list("order_line__external_id", "quantity")]
    return TrackingPush(order_external_id=order.external_id, lines=lines, carrier=shipment.carrier,
                        tracking_number=shipment.tracking_number, tracking_url=shipment.tracking_url,
                        previous_fulfillment_id=row.channel_fulfillment_id or None,
                        is_final=_is_final(merchant, order, shipment), shipped_at=shipment.shipped_at,
                        service=shipment.service, channel_data=dict(order.channel_data or {}))


def _is_final(merchant: Merchant, order: Order, shipment: Shipment) -> bool:
    """Nothing of the order is left to ship once this shipment is told: the order is fulfilled and no
    shipment of it left after this one."""
    if order.status != OrderStatus.FULFILLED:
        return False
    return not Shipment.objects.filter(merchant=merchant, order=order, status=Shipment.Status.SHIPPED,
                                       pk__gt=shipment.pk).exists()


def tracking_push(*, merchant: Merchant, limit: int = 100) -> dict[str, int]:
    """Push the merchant's due tracking rows. Throttled/down → due again after the backoff; refused → kept
    with the channel's reason and not retried; refused credentials → the store needs reconnecting and
    its rows wait."""
    cache.delete(PENDING_KEY.format(merchant_id=merchant.pk))  # rows written from now on schedule another push
    rows = tracking_outbox_claim(merchant=merchant, limit=limit)
    sessions: dict[int, ChannelSession] = {}
    totals = {"rows": len(rows), "done": 0, "retry": 0, "refused": 0}
    for row in rows:
        integration = (Integration.objects.filter(merchant=merchant, pk=row.integration_id).first()
                       if row.integration_id else None)
        if integration is None or integration.status == Integration.Status.DISCONNECTED:
            tracking_outbox_give_up(merchant=merchant, row=row, error="The store is not connected.")
            totals["refused"] += 1
            continue
        if integration.status != Integration.Status.ACTIVE:
            tracking_outbox_retry(merchant=merchant, row=row, error="The store needs reconnecting.",
                                  retry_after=RECONNECT_RETRY_SECONDS)
            totals["retry"] += 1
            continue
        session = sessions.get(integration.pk)
        if session is None:
            session = sessions[integration.pk] = ChannelSession(merchant=merchant, integration=integration)
        push = tracking_push_build(merchant=merchant, row=row)
        try:
            result = session.call(lambda a, p=push: a.push_tracking(p))
        except ExternalError as exc:
            error = sync_failed(merchant=merchant, integration=integration, exc=exc, during="tracking")
            if isinstance(exc, RETRYABLE) or isinstance(exc, AuthFailed):
                retry_after = exc.retry_after if isinstance(exc, Throttled) else None
                if isinstance(exc, AuthFailed):
                    retry_after = RECONNECT_RETRY_SECONDS
                tracking_outbox_retry(merchant=merchant, row=row, error=error, retry_after=retry_after)
                totals["retry"] += 1
            else:
                tracking_outbox_give_up(merchant=merchant, row=row, error=error)
                totals["refused"] += 1
            continue
        tracking_outbox_done(merchant=merchant, row=row, channel_fulfillment_id=result.fulfillment_id)
        sync_succeeded(merchant=merchant, integration=integration)
        totals["done"] += 1
    return totals


def tracking_push_due_merchant_ids() -> list[int]:
    return tracking_outbox_due_merchant_ids()
