"""The merchant's customers as the manual order page picks them: by e-mail, from the orders they placed."""

from __future__ import annotations

from typing import Any

from django.db.models import Max
from django.db.models.functions import Lower

from accounts.models import Merchant
from orders.models import Order

CUSTOMER_SUGGEST_MAX = 20


def customer_suggest(*, merchant: Merchant, q: str, limit: int = 8) -> list[dict[str, Any]]:
    """Customers whose e-mail starts with `q` (any case), in e-mail order, each with the name and shipping
    address of their latest order, so picking one fills the manual order's customer and ship-to. There is
    no customer table: a customer is an e-mail on this merchant's orders."""
    q = (q or "").strip().lower()
    if not q:
        return []
    latest = (Order.objects.filter(merchant=merchant).exclude(customer_email="")
              .annotate(email_lower=Lower("customer_email")).filter(email_lower__startswith=q)
              .values("email_lower").annotate(last_id=Max("id")).order_by("email_lower")[:limit])
    ids = [row["last_id"] for row in latest]
    orders = {o.pk: o for o in Order.objects.filter(merchant=merchant, pk__in=ids)
              .only("pk", "customer_email", "customer_name", "shipping_address")}
    out = []
    for pk in ids:
        order = orders[pk]
        address = order.shipping_address if isinstance(order.shipping_address, dict) else {}
        out.append({"email": order.customer_email.lower(), "name": order.customer_name,
                    "city": str(address.get("city") or ""), "address": address})
    return out
