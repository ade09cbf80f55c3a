"""Low stock: one email per product when it goes low, none again until it has recovered."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Membership, Merchant
from accounts.tasks import enqueue_on_commit
from inventory.models import Product

logger = logging.getLogger(__name__)


def low_stock_evaluate(*, merchant: Merchant, available: dict[int, int]) -> None:
    """Called by every stock change with the new availability of the products it touched.

    Going low sets `low_stock_since` with a conditional UPDATE (only one transaction can win it)
    and, for the rows it won, schedules the email after commit. Recovering clears it, which
    re-arms the alert. Two statements whatever the number of products (imports touch many).
    """
    rows = Product.objects.filter(
        merchant=merchant, pk__in=list(available), is_bundle=False, low_stock_threshold__gt=0
    ).values_list("pk", "low_stock_threshold")
    low, recovered = [], []
    for pk, threshold in rows:
        (low if available[pk] <= threshold else recovered).append(pk)
    if recovered:
        Product.objects.filter(merchant=merchant, pk__in=recovered, low_stock_since__isnull=False).update(
            low_stock_since=None, low_stock_notified_at=None
        )
    if low:
        from inventory.tasks import low_stock_notify_task

        for pk in _claim_low(merchant, sorted(low)):
            enqueue_on_commit(low_stock_notify_task, merchant_id=merchant.pk, product_id=pk)


def _claim_low(merchant: Merchant, ids: list[int]) -> list[int]:
    """Set low_stock_since where it is not set yet; returns the ids this call set."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {Product._meta.db_table} SET low_stock_since = %s "  # noqa: S608
                "WHERE merchant_id = %s AND id = ANY(%s) AND low_stock_since IS NULL RETURNING id",
                [now, merchant.pk, ids],
            )
            return sorted(r[0] for r in cur.fetchall())
    return [
        pk for pk in ids
        if Product.objects.filter(merchant=merchant, pk=pk, low_stock_since__isnull=True).update(low_stock_since=now)
    ]


def low_stock_notify(*, merchant: Merchant, product_id: int) -> str:
    """Send the low-stock email once per episode, even when the task is retried or delivered twice.

    The product row is locked; the email goes only if this episode has not been notified yet.
    The mark is written before sending, in the same transaction: a failed send rolls it back.
    """
    with transaction.atomic():
        product = (
            Product.objects.filter(merchant=merchant, pk=product_id).select_for_update(of=("self",)).first()
        )
        if product is None:
            return "missing"
        if product.low_stock_since is None:
            return "recovered"
        if product.low_stock_notified_at is not None and product.low_stock_notified_at >= product.low_stock_since:
            return "already-done"
        product.low_stock_notified_at = timezone.now()
        product.save(update_fields=["low_stock_notified_at"])
        recipients = list(
            Membership.objects.filter(merchant=merchant, role=Membership.Role.OWNER)
            .values_list("user__email", flat=True)
        ) or list(Membership.objects.filter(merchant=merchant).values_list("user__email", flat=True))
        if not recipients:
            return "no-recipients"
        from inventory.selectors import product_available

        available = product_available(merchant=merchant, product_id=product.pk)
        send_mail(
            subject=f"Low stock: {product.sku} ({available} left)",
            message=(
                f"{product.title} ({product.sku}) is low on stock: {available} available, "
                f"threshold {product.low_stock_threshold}.\n\n"
                "You will not be emailed about this product again until it is back above its threshold."
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
        )
    logger.info("inventory.low_stock.notified", extra={"merchant_id": merchant.pk, "product_id": product_id})
    return "ok"
