"""What the stock ledger's order references name: inventory stores "order_line:<id>" on every movement an
order's line makes (reserve, release, ship, return) and knows no order, so orders tells the product page
which order each is, for a link (inventory.registry.reference_links)."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import Merchant
from inventory.registry import ReferenceLink
from orders.models import OrderLine
from orders.services.reservations import LINE_PREFIX


def order_line_reference_links(merchant: Merchant, references: list[str]) -> dict[str, ReferenceLink]:
    """{"order_line:<id>": the order's number and page}, one query for the whole ledger page."""
    ids = {}
    for ref in references:
        tail = ref[len(LINE_PREFIX):]
        if ref.startswith(LINE_PREFIX) and tail.isascii() and tail.isdigit() and 0 < int(tail) < 2**63:
            ids[ref] = int(tail)
    orders = {pk: (order_id, number) for pk, order_id, number in OrderLine.objects.filter(
        merchant=merchant, pk__in=set(ids.values())).values_list("pk", "order_id", "order__number")}
    return {ref: ReferenceLink(label=f"Order {orders[pk][1]}", url=reverse("order-detail", args=[orders[pk][0]]))
            for ref, pk in ids.items() if pk in orders}
