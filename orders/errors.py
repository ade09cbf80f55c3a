"""Domain errors of the orders app; the API maps them through core.errors (409, 400, 404)."""

from __future__ import annotations

from core.errors import Conflict, ValidationFailed


class IllegalTransition(Conflict):
    """A workflow move the state machine does not allow (e.g. shipping a cancelled order)."""

    code = "illegal_transition"
    default_message = "This order cannot move to the requested state."

    def __init__(self, *, current: str, requested: str, message: str | None = None):
        self.current = current
        self.requested = requested
        super().__init__(
            message or f"An order that is {current} cannot become {requested}.",
            details={"current": current, "requested": requested},
        )


class ShipmentInvalid(ValidationFailed):
    code = "shipment_invalid"
    default_message = "The shipment lines are not valid for this order."


class ShipmentAlreadyShipped(Conflict):
    code = "shipment_already_shipped"
    default_message = "This shipment has already been shipped."
