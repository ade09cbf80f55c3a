"""Every write of the orders app. Import services from here: `from orders import services`."""

from orders.services.allocation import short_orders_allocate
from orders.services.bulk import (
    BULK_ACTIONS,
    CONFIRM_ACTIONS,
    bulk_all_matching,
    bulk_outcome_groups,
    bulk_preview,
    confirm_reason,
    orders_bulk_action,
    orders_bulk_run_job,
    orders_bulk_start,
)
from orders.services.fulfillment import (
    ShipmentLineRequest,
    order_fulfill_all,
    shipment_cancel,
    shipment_create,
    shipment_mark_shipped,
    shipment_pending_ensure,
    shipment_tracking_update,
    shipment_unship,
)
from orders.services.ingest import IngestResult, order_ingest, order_ingest_many
from orders.services.manual import ManualLine, ManualOrderCheck, manual_order_check, order_create_manual
from orders.services.notifications import (
    notification_channel_cancellation,
    notification_customer_shipped,
    notification_daily_digest,
    notification_new_order,
)
from orders.services.orders import (
    order_cancel,
    order_hold,
    order_line_map_sku,
    order_lines_map_store_sku,
    order_release_hold,
    order_return,
    order_tag_add,
    order_update,
)
from orders.services.saved_views import saved_view_delete, saved_view_save
from orders.services.ship_by import ship_by_for
from orders.services.tracking import tracking_outbox_retry_now

__all__ = [
    "saved_view_delete", "saved_view_save", "ship_by_for", "ManualOrderCheck", "manual_order_check",
    "BULK_ACTIONS", "CONFIRM_ACTIONS", "bulk_all_matching", "bulk_outcome_groups", "bulk_preview", "confirm_reason", "orders_bulk_run_job", "orders_bulk_start", "IngestResult",
    "ManualLine", "ShipmentLineRequest", "notification_channel_cancellation",
    "notification_customer_shipped", "notification_daily_digest", "notification_new_order",
    "order_cancel", "order_create_manual", "order_fulfill_all", "order_hold", "order_ingest", "order_ingest_many",
    "order_line_map_sku", "order_lines_map_store_sku", "order_release_hold", "order_return", "order_tag_add", "order_update",
    "orders_bulk_action", "shipment_cancel", "shipment_create", "shipment_mark_shipped", "shipment_pending_ensure", "shipment_tracking_update", "shipment_unship", "short_orders_allocate",
    "tracking_outbox_retry_now",
]
