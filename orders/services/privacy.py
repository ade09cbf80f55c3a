"""A customer's data in a merchant's orders: found for a data request, erased for a redaction.

What a channel's privacy webhooks (a customer's data request, a customer's or a whole shop's redaction)
call. Orders themselves stay (the merchant's books need them); what identifies the person goes.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from accounts.models import Merchant
from orders.models import Order, OrderEvent
from orders.selectors.orders import customer_order_list

REDACTED = "(redacted)"


def customer_orders_find(*, merchant: Merchant, integration_id: int, email: str = "",
                         external_ids: Iterable[str] = ()) -> list[dict]:
    """What we hold about one customer of one store: their orders by number (a data request's answer)."""
    return [{"id": o.pk, "number": o.number, "external_id": o.external_id}
            for o in customer_order_list(merchant=merchant, integration_id=integration_id, email=email,
                                         external_ids=external_ids).order_by("id")]


@transaction.atomic
def orders_customer_redact(*, merchant: Merchant, integration_id: int, email: str = "",
                           external_ids: Iterable[str] = (), everyone: bool = False) -> list[int]:
    """Erase the customer's name, e-mail, address and the channel's raw payload from their orders of one
    store (every order of the store with `everyone`, a shop redaction). Returns the ids of the orders
    changed; a second call changes nothing and returns []."""
    orders = (Order.objects.filter(merchant=merchant, integration_id=integration_id) if everyone
              else customer_order_list(merchant=merchant, integration_id=integration_id, email=email,
                                       external_ids=external_ids))
    # locked in pk order, as every order service locks orders
    ids = list(orders.exclude(customer_name=REDACTED).select_for_update(of=("self",)).order_by("pk")
               .values_list("pk", flat=True))
    if not ids:
        return []
    Order.objects.filter(merchant=merchant, pk__in=ids).update(
        customer_name=REDACTED, customer_email="", shipping_address={}, raw_payload={})
    OrderEvent.objects.bulk_create([
        OrderEvent(merchant=merchant, order_id=pk, kind=OrderEvent.Kind.UPDATED,
                   message="Customer data redacted at the channel's request") for pk in ids])
    return ids
