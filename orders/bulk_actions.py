"""Extra bulk actions other apps add to the order list (packing slips and labels: the labels issue).

The orders app knows no labels or carriers. An app registers an action from its AppConfig.ready():

    from orders.bulk_actions import register_bulk_action
    register_bulk_action("packing_slips", "Print packing slips", "labels.views.packing_slips_for_orders")

The handler is a dotted path to a callable `handler(request, merchant, order_ids) -> HttpResponse`
(a PDF download, or a redirect to a batch page). The order list shows every registered action
beside its own (fulfill, hold, tag...); until the labels app registers them, none are shown.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BulkAction:
    name: str
    label: str
    handler: str  # dotted path: handler(request, merchant, order_ids) -> HttpResponse


_REGISTRY: dict[str, BulkAction] = {}


def register_bulk_action(name: str, label: str, handler: str) -> None:
    if name in ("fulfill", "hold", "release_hold", "cancel", "tag"):
        raise ValueError(f"{name!r} is one of the orders app's own actions")
    _REGISTRY[name] = BulkAction(name=name, label=label, handler=handler)


def registered_bulk_actions() -> list[BulkAction]:
    return list(_REGISTRY.values())


def bulk_action_get(name: str) -> BulkAction | None:
    return _REGISTRY.get(name)
