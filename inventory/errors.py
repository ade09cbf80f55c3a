"""Domain errors of inventory; the API renders them through core.api.exception_handler."""

from __future__ import annotations

from core.errors import Conflict, NotFound, ValidationFailed


class OutOfStock(Conflict):
    """Asked for more units than are available (409, code "out_of_stock")."""

    code = "out_of_stock"

    def __init__(self, *, sku: str, requested: int, available: int, message: str | None = None, **extra):
        self.sku = sku
        self.requested = requested
        self.available = available
        details = {"sku": sku, "requested": requested, "available": available, **extra}
        super().__init__(
            message or f"Not enough stock of {sku}: requested {requested}, available {available}.",
            details=details,
        )


class UnknownSku(ValidationFailed):
    """A SKU or product id that is not one of the merchant's products (400, code "unknown_sku")."""

    code = "unknown_sku"

    def __init__(self, sku: str, message: str | None = None, **extra):
        self.sku = sku
        super().__init__(message or f"Unknown SKU or product: {sku}.", details={"sku": sku, **extra})


class ProductNotFound(NotFound):
    default_message = "No such product."


class LocationNotFound(NotFound):
    default_message = "No such location."


class InvalidStockOperation(ValidationFailed):
    code = "invalid_stock_operation"
