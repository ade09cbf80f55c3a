"""Low stock: one email per product when it goes low, none again until it has recovered."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import Membership, Merchant
from core.enqueue import enqueue_on_commit
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
        won = _claim_low(merchant, sorted(low))
        if won:  # one task (and one email) per transaction, however many products went low in it
            enqueue_on_commit("inventory.low_stock_notify", merchant_id=merchant.pk, product_ids=won)


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


def low_stock_notify(*, merchant: Merchant, product_ids: list[int]) -> str:
    """Email the owners once per low-stock episode of each product, even when the task runs twice.

    Each product is claimed with its own conditional UPDATE (notified before this episode began →
    now notified), so the task never holds more than one product row lock and cannot deadlock with
    stock changes. Claimed products go into one email; if sending fails the claims are undone and
    the task retries. `settings.INVENTORY_LOW_STOCK_NOTIFIER` (a dotted path, called with
    `merchant=` and `products=[{"product_id", "sku", "title", "available", "threshold"}]`) replaces
    the owners' email, so the app that owns notification settings decides who hears about it.
    """
    now = timezone.now()
    claimed: list[int] = []
    for pk in sorted(set(product_ids)):
        won = (
            Product.objects.filter(merchant=merchant, pk=pk, low_stock_since__isnull=False)
            .filter(Q(low_stock_notified_at__isnull=True) | Q(low_stock_notified_at__lt=F("low_stock_since")))
            .update(low_stock_notified_at=now)
        )
        if won:
            claimed.append(pk)
    if not claimed:
        return "already-done"
    from inventory.selectors import products_available

    products = list(Product.objects.filter(merchant=merchant, pk__in=claimed).order_by("sku"))
    available = products_available(merchant=merchant, product_ids=claimed)
    facts = [{"product_id": p.pk, "sku": p.sku, "title": p.title, "available": available[p.pk],
              "threshold": p.low_stock_threshold} for p in products]
    try:
        notifier = getattr(settings, "INVENTORY_LOW_STOCK_NOTIFIER", "")
        if notifier:  # another app owns the merchant's notification choices; inventory imports none of it
            outcome = import_string(notifier)(merchant=merchant, products=facts)
        else:
            outcome = _email_owners(merchant=merchant, facts=facts)
    except Exception:
        Product.objects.filter(merchant=merchant, pk__in=claimed, low_stock_notified_at=now).update(
            low_stock_notified_at=None
        )
        raise
    if isinstance(outcome, str) and outcome != "ok":  # e.g. "no-recipients", or the merchant turned it off
        return outcome
    logger.info("inventory.low_stock.notified", extra={"merchant_id": merchant.pk, "product_ids": claimed})
    return "ok"


def _email_owners(*, merchant: Merchant, facts: list[dict]) -> str:
    """The default notifier: one email to the merchant's owners (or every member when there is none)."""
    recipients = list(
        Membership.objects.filter(merchant=merchant, role=Membership.Role.OWNER).values_list("user__email", flat=True)
    ) or list(Membership.objects.filter(merchant=merchant).values_list("user__email", flat=True))
    if not recipients:
        return "no-recipients"
    lines = [f"- {f['sku']} · {f['title']}: {f['available']} available (threshold {f['threshold']})" for f in facts]
    if len(facts) == 1:
        subject = f"Low stock: {facts[0]['sku']} ({facts[0]['available']} left)"
    else:
        subject = f"Low stock: {len(facts)} products"
    send_mail(
        subject=subject,
        message=(
            "These products are at or under their low-stock threshold:\n\n" + "\n".join(lines) + "\n\n"
            "You will not be emailed about a product again until it is back above its threshold."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )
    return "ok"
