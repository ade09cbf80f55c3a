"""Reads of the orders app. Import from here: `from orders import selectors`."""

from orders.selectors.analytics import (
    DateRange,
    fulfillment_time,
    revenue_by_day,
    shipping_cost,
    short_orders,
    top_skus,
    unfulfilled_by_age,
)
from orders.selectors.orders import (
    EXPORT_ADDRESS_FIELDS,
    OrderFilters,
    order_detail,
    order_export_rows,
    order_filter,
    order_get,
    order_line_export_rows,
    order_line_get,
    order_list,
    order_page,
    shipment_get,
    shipment_list,
)

__all__ = [
    "EXPORT_ADDRESS_FIELDS", "order_line_export_rows", "DateRange", "OrderFilters", "fulfillment_time", "order_detail", "order_export_rows", "order_filter",
    "order_get", "order_line_get", "order_list", "order_page", "revenue_by_day", "shipment_get", "shipment_list",
    "shipping_cost", "short_orders", "top_skus", "unfulfilled_by_age",
]
