"""The orders app's emails: it builds the facts (an order, a shipment, a day's orders) and hands
them to the notifications app, which decides whether the merchant wants them, who gets them, and
sends each exactly once (notifications.services.notification_send)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Sum

from accounts.models import Merchant
from core.templatetags.when import day_text, moment_text
from notifications.models import NotificationLog
from notifications.services import (
    notification_is_wanted,
    notification_send,
    notification_send_many,
    notification_settings_get,
    notification_url,
)
from orders.channels import channel_label
from orders.models import Order, OrderEvent, OrderStatus, Shipment
from orders.selectors.analytics import DateRange

DIGEST_SAMPLE = 50


def _order_context(order: Order, merchant: Merchant) -> dict[str, Any]:
    """The facts an email says about an order, in the merchant's words: the channel's name (not its slug)
    and when it was placed in the merchant's zone and the pages' format."""
    return {
        "order_id": order.pk, "number": order.number, "channel": channel_label(order.channel),
        "customer_name": order.customer_name, "customer_email": order.customer_email,
        "total": str(order.total_amount), "currency": order.currency,
        "placed_at": order.placed_at.isoformat(), "placed": moment_text(order.placed_at, merchant.timezone), "url": notification_url(f"/orders/{order.pk}/"),
        "is_short": order.is_short, "needs_attention": order.needs_attention,
    }


def notification_new_order(*, merchant: Merchant, order: Order) -> NotificationLog | None:
    """Sent only in "each" mode; "digest" merchants get the day's orders from notification_daily_digest."""
    return notification_send(merchant=merchant, kind="new_order", key=f"new_order:{order.pk}",
                             reference=f"order:{order.pk}", context=_order_context(order, merchant))


def notification_new_orders(*, merchant: Merchant, orders: list[Order]) -> list[NotificationLog]:
    """notification_new_order for a page of orders in one go (settings read once, rows inserted together)."""
    if not orders:
        return []
    return notification_send_many(merchant=merchant, kind="new_order", items=(
        (f"new_order:{order.pk}", f"order:{order.pk}", _order_context(order, merchant)) for order in orders))


def notification_channel_cancellation(*, merchant: Merchant, order: Order) -> NotificationLog | None:
    return notification_send(merchant=merchant, kind="channel_cancellation", key=f"channel_cancellation:{order.pk}",
                             reference=f"order:{order.pk}", context=_order_context(order, merchant))


def notification_customer_shipped(*, merchant: Merchant, shipment: Shipment) -> NotificationLog | None:
    """To the customer, not the merchant: the shipment's tracking and what is in the parcel."""
    order = shipment.order
    if not order.customer_email or not notification_is_wanted(merchant=merchant, kind="customer_shipped"):
        return None
    context = _order_context(order, merchant) | {
        "carrier": shipment.carrier, "tracking_number": shipment.tracking_number,
        "tracking_url": shipment.tracking_url, "merchant_name": merchant.name,
        "items": [{"sku": sl.order_line.sku, "title": sl.order_line.title, "quantity": sl.quantity}
                  for sl in shipment.lines.select_related("order_line")],
    }
    return notification_send(merchant=merchant, kind="customer_shipped", key=f"customer_shipped:{shipment.pk}",
                             reference=f"order:{order.pk}", recipients=[order.customer_email], context=context)


def notification_customer_tracking(*, merchant: Merchant, shipment: Shipment, status: str) -> NotificationLog | None:
    """To the customer: the parcel is out for delivery, delivered, or has a problem. Once per shipment and
    status (the key), under the merchant's "email customers their tracking" switch and that status's own."""
    order = shipment.order
    if not order.customer_email or not notification_settings_get(merchant=merchant).wants_customer_tracking(status):
        return None
    context = _order_context(order, merchant) | {
        "carrier": shipment.carrier, "tracking_number": shipment.tracking_number, "tracking_url": shipment.tracking_url,
        "merchant_name": merchant.name, "status": status, "status_words": Shipment.TrackingStatus(status).label.lower(),
    }
    return notification_send(merchant=merchant, kind="customer_tracking", key=f"customer_tracking:{shipment.pk}:{status}",
                             reference=f"order:{order.pk}", recipients=[order.customer_email], context=context)


def notification_daily_digest(*, merchant: Merchant, day: date) -> NotificationLog | None:
    """The orders that reached us on one of the merchant's own days (Merchant.timezone), in one email.

    Counted by when we received them (created_at), so an order placed late one day and fetched
    the next is in exactly one digest, never in none.
    """
    day_range = DateRange(start=day, end=day, tz=merchant.timezone or "UTC")
    orders = Order.objects.filter(merchant=merchant, created_at__gte=day_range.start_at,
                                  created_at__lt=day_range.end_at)
    totals = orders.aggregate(n=Count("id"), revenue=Sum("total_amount"))
    if not totals["n"]:
        return None
    sample = [_order_context(o, merchant) for o in orders.order_by("-placed_at", "-id")[:DIGEST_SAMPLE]]
    context = {"day": day.isoformat(), "day_words": day_text(day), "count": totals["n"], "revenue": str(totals["revenue"] or 0),
               "currency": merchant.currency, "orders": sample,
               "short": orders.filter(is_short=True).count(),
               "attention": orders.filter(needs_attention=True).exclude(status=OrderStatus.CANCELLED).count(),
               "url": notification_url("/orders/")}
    return notification_send(merchant=merchant, kind="digest", key=f"digest:{day.isoformat()}", context=context)


def order_notification_sent(*, merchant: Merchant, log: NotificationLog) -> None:
    """Registered with notifications for references "order:<id>": the order's timeline says who was emailed."""
    order_id = int(log.reference.partition(":")[2])
    if not Order.objects.filter(merchant=merchant, pk=order_id).exists():
        return  # deleted since: nothing to write on
    OrderEvent.objects.create(merchant=merchant, order_id=order_id, kind=OrderEvent.Kind.NOTIFIED,
                              message=f"Emailed {', '.join(log.recipients)}: {log.subject}"[:500],
                              data={"kind": log.kind, "log": log.pk})
