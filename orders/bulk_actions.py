"""Extra bulk actions other apps add to the order list (packing slips and labels: the labels issue).

The orders app knows no labels or carriers. An app registers an action from its AppConfig.ready():

    from orders.bulk_actions import register_bulk_action
    from labels.views import packing_slips_for_orders
    register_bulk_action("packing_slips", "Print packing slips", packing_slips_for_orders)

The handler is a callable `handler(request, merchant, order_ids) -> HttpResponse` (a PDF
download, or a redirect to a batch page). The order list shows every registered action beside
its own (fulfill, hold, tag...); until the labels app registers them, none are shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from core.registry import Registry
from orders.services.bulk import BULK_ACTIONS

BulkHandler = Callable[[HttpRequest, object, Sequence[int]], HttpResponse]


@dataclass(frozen=True)
class BulkAction:
    name: str
    label: str
    handler: BulkHandler


bulk_actions: Registry[BulkAction] = Registry("orders.bulk_actions")


def register_bulk_action(name: str, label: str, handler: BulkHandler) -> BulkAction:
    if name in BULK_ACTIONS:
        raise ValueError(f"{name!r} is one of the orders app's own actions")
    return bulk_actions.register(name, BulkAction(name=name, label=label, handler=handler))


def registered_bulk_actions() -> list[BulkAction]:
    return bulk_actions.values()


def bulk_action_get(name: str) -> BulkAction | None:
    return bulk_actions.get(name)
