"""Sections other apps add to the order page (labels: buying a label, the label bought, paperwork).

The orders app knows no labels or carriers, so it cannot name their pages. An app registers a section
from its AppConfig.ready(); the order page renders every registered section, in registration order,
below the order's own actions:

    order_page_sections.register("labels", OrderPageSection(
        template="labels/_order_section.html", context=labels_order_section))

`context(merchant=, order=, shipments=, can_ship=)` returns the section's template context (under the
name `section`); it reads what it needs in a bounded number of queries, whatever the order's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.registry import Registry


@dataclass(frozen=True)
class OrderPageSection:
    template: str
    context: Callable[..., dict[str, Any]]


order_page_sections: Registry[OrderPageSection] = Registry("orders.order_page_sections")


def order_page_sections_render(*, merchant, order, shipments: list, can_ship: bool) -> list[tuple[str, dict]]:
    """(template, context) of every registered section for this order."""
    return [(s.template, s.context(merchant=merchant, order=order, shipments=shipments, can_ship=can_ship))
            for s in order_page_sections.values()]
