"""Reads of the orders app. Import from here: `from orders import selectors`."""

from orders.selectors.analytics import (
    DateRange,
    carrier_exceptions,
    fulfillment_time,
    on_time_delivery,
    revenue_by_day,
    shipping_cost,
    short_orders,
    top_skus,
    unfulfilled_by_age,
)
from orders.selectors.home import AGE_BUCKETS, HomeSummary, home_summary
from orders.selectors.orders import (
    EXPORT_ADDRESS_FIELDS,
    FULL_EMAIL,
    ORDER_FILTER_ALIASES,
    QUEUE_TABS,
    SEARCH_FIELDS,
    SEARCH_LINE_FIELDS,
    SHORT_TERM_WINDOW,
    TRIGRAM_MIN,
    OrderFilters,
    late_condition,
    order_detail,
    order_export_rows,
    order_filter,
    order_get,
    order_ids_matching,
    order_is_late,
    order_line_export_rows,
    order_line_get,
    order_list,
    order_page,
    search_condition,
    search_plan,
    shipment_get,
    shipment_list,
    store_units_waiting,
)
from orders.selectors.queue import (
    HISTORY_COUNT_CAP,
    SEARCH_COUNT_CAP,
    SORT_LABELS,
    SORTS,
    TabCount,
    default_sort,
    order_queue,
    parse_sort,
    queue_counts,
    queue_page,
    search_want,
)
from orders.selectors.saved_views import saved_view_get, saved_view_list
from orders.selectors.tracking import TrackingState, shipments_with_tracking, tracking_state

__all__ = [
    "TrackingState", "shipments_with_tracking", "tracking_state",
    "AGE_BUCKETS", "HomeSummary", "home_summary",
    "HISTORY_COUNT_CAP", "SEARCH_COUNT_CAP", "QUEUE_TABS", "SORTS", "SORT_LABELS", "TabCount", "default_sort", "order_queue", "parse_sort", "queue_counts",
    "queue_page", "search_want", "saved_view_get", "saved_view_list", "late_condition", "order_is_late",
    "DateRange", "OrderFilters", "fulfillment_time", "order_detail", "order_export_rows", "order_filter",
    "order_get", "order_ids_matching", "order_line_get", "order_list", "order_page", "revenue_by_day",
    "shipment_get", "shipment_list", "store_units_waiting",
    "EXPORT_ADDRESS_FIELDS", "ORDER_FILTER_ALIASES", "order_line_export_rows",
    "FULL_EMAIL", "SHORT_TERM_WINDOW", "TRIGRAM_MIN", "SEARCH_FIELDS", "SEARCH_LINE_FIELDS", "search_condition", "search_plan",
    "shipping_cost", "short_orders", "top_skus", "unfulfilled_by_age", "carrier_exceptions", "on_time_delivery",
]
