"""The sync engine: connect, poll, stock push and tracking, speaking only the adapter interface.

Public services (tasks, views and the webhook inbox call these by name):
- `integration_job_run(merchant=, integration_id=, job_id=, steps=)`: the connect job / "sync now".
- `integration_poll(merchant=, integration_id=)`, `integrations_due_for_poll()`.
- `stock_push(merchant=)`, `listings_push(merchant=, integration=, product_ids=)`, `stock_push_schedule(merchant_id)`.
- `listing_channel_quantity_seen(merchant=, integration=, external_id=, quantity=)`.
- `listings_upsert(merchant=, integration=, items=)`: a page of listings, or a product webhook's variants.
- `tracking_push(merchant=)`.
- `bulk_export_finished(merchant=, integration=, export_id=, state=)`: a channel's "export finished" webhook.
- `integration_webhooks_remove(merchant=, integration_id=)`: after a disconnect (enqueued by integration_disconnect).
"""

from integrations.sync.bulk import bulk_export_finished
from integrations.sync.common import ChannelSession, integration_needs_reconnect
from integrations.sync.connect import (
    CONNECT_STEPS,
    SYNC_STEPS,
    integration_job_run,
    integration_poll,
    integration_poll_schedule,
    integration_webhooks_remove,
    integrations_due_for_poll,
    listings_upsert,
    webhook_url,
)
from integrations.sync.stock import (
    CONSUMER,
    channel_ref_quantity_seen,
    listing_channel_quantity_seen,
    listing_quantity,
    listings_push,
    pushes_pending_read,
    stock_push,
    stock_push_due_merchant_ids,
    stock_push_schedule,
)
from integrations.sync.tracking import tracking_push, tracking_push_due_merchant_ids, tracking_push_schedule

__all__ = [
    "CONNECT_STEPS", "CONSUMER", "SYNC_STEPS", "ChannelSession", "bulk_export_finished", "integration_job_run", "integration_needs_reconnect",
    "integration_poll", "integration_poll_schedule", "integration_webhooks_remove", "integrations_due_for_poll", "channel_ref_quantity_seen", "listing_channel_quantity_seen",
    "listings_upsert",
    "listing_quantity", "listings_push", "pushes_pending_read", "stock_push", "stock_push_due_merchant_ids",
    "stock_push_schedule", "tracking_push", "tracking_push_due_merchant_ids", "tracking_push_schedule", "webhook_url",
]
