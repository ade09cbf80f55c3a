"""Inventory services: the only code that writes stock. Import from here."""

from inventory.services.adjust import (
    ADJUST_REASONS,
    AdjustLine,
    adjust_reason_default,
    stock_adjust,
    stock_adjust_many,
    stock_set_count,
    stock_transfer,
)
from inventory.services.alerts import low_stock_evaluate, low_stock_notify, low_stock_sweep
from inventory.services.aliases import sku_alias_delete, sku_alias_remember
from inventory.services.catalog import (
    availability_ack,
    availability_mark,
    availability_take,
    bundle_set_components,
    location_create,
    location_create_default,
    location_set_default,
    location_update,
    product_create,
    product_update,
)
from inventory.services.opening import product_has_stock_history, stock_opening
from inventory.services.stock import (
    HoldResult,
    HoldTarget,
    ReserveRequest,
    ReturnRequest,
    ShipRequest,
    stock_apply,
    stock_lock,
    stock_release,
    stock_reserve,
    stock_return,
    stock_ship,
)

__all__ = [
    "ADJUST_REASONS", "adjust_reason_default", "AdjustLine", "HoldResult", "HoldTarget", "ReserveRequest", "ReturnRequest", "ShipRequest", "availability_ack", "availability_mark", "availability_take", "bundle_set_components",
    "location_create", "location_create_default", "location_set_default", "location_update", "low_stock_evaluate", "low_stock_notify", "low_stock_sweep",
    "product_create", "product_has_stock_history", "product_update", "stock_adjust", "stock_adjust_many", "stock_apply", "stock_lock", "stock_release", "stock_reserve",
    "stock_opening", "stock_return", "stock_set_count", "stock_ship", "stock_transfer", "sku_alias_delete", "sku_alias_remember",
]
