"""Low stock: one email per product when it goes low, none again until it has recovered."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Merchant
from accounts.tenancy import unscoped
from core.enqueue import enqueue_on_commit
from inventory.models import Product
from inventory.registry import low_stock_notifier
from inventory.selectors import products_available
from notifications.services import notification_send, notification_url

logger = logging.getLogger(__name__)

# The notify task is sent after the commit that made a product low; if that send is lost (the broker was
# down), low_stock_sweep sends it again once the episode is this old and still un-notified.
SWEEP_AFTER = timedelta(minutes=5)
# Episodes older than this are not chased: the merchant sees them on the stock pages, and an email about
# last week's low stock helps nobody.
SWEEP_WITHIN = timedelta(days=1)


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
    """Tell the merchant once per low-stock episode of each product, even when the task runs twice.

    Each product is claimed with its own conditional UPDATE (notified before this episode began →
    now notified), so the task never holds more than one product row lock and cannot deadlock with
    stock changes. Claimed products go into one email, queued through the notifications app (which
    sends it exactly once, retrying the mail server itself); if queueing fails the claims are undone
    and the task retries. A notifier registered in `inventory.registry.low_stock_notifiers` (called
    with `merchant=` and `products=[{"product_id", "sku", "title", "available", "threshold"}]`)
    replaces that email.
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

    products = list(Product.objects.filter(merchant=merchant, pk__in=claimed).order_by("sku"))
    available = products_available(merchant=merchant, product_ids=claimed)
    facts = [{"product_id": p.pk, "sku": p.sku, "title": p.title, "available": available[p.pk],
              "threshold": p.low_stock_threshold} for p in products]
    try:
        notifier = low_stock_notifier()
        if notifier:  # another app owns the merchant's notification choices; inventory imports none of it
            outcome = notifier(merchant=merchant, products=facts)
        else:
            outcome = _email_merchant(merchant=merchant, products=products, facts=facts)
    except Exception:
        Product.objects.filter(merchant=merchant, pk__in=claimed, low_stock_notified_at=now).update(
            low_stock_notified_at=None
        )
        raise
    if isinstance(outcome, str) and outcome != "ok":  # e.g. "no-recipients", or the merchant turned it off
        return outcome
    logger.info("inventory.low_stock.notified", extra={"merchant_id": merchant.pk, "product_ids": claimed})
    return "ok"


def _email_merchant(*, merchant: Merchant, products: list[Product], facts: list[dict]) -> str:
    """The default notifier: one email through the notifications app, which applies the merchant's
    low-stock switch and recipients (the chosen ones, else the owners) and sends it exactly once.

    The key names the low-stock episodes (product and when it went low), so the same episodes
    are never emailed twice, even if this is called again for them.
    """
    episodes = ",".join(f"{p.pk}@{p.low_stock_since.isoformat() if p.low_stock_since else '-'}" for p in products)
    summary = (f"{facts[0]['sku']} ({facts[0]['available']} left)" if len(facts) == 1
               else f"{len(facts)} products")
    log = notification_send(
        merchant=merchant, kind="low_stock", key=f"low_stock:{hashlib.sha256(episodes.encode()).hexdigest()[:40]}",
        reference=f"product:{facts[0]['product_id']}" if len(facts) == 1 else "",
        context={"summary": summary, "products": facts, "url": notification_url("/inventory/")},
    )
    return "ok" if log else "not-queued"


def low_stock_sweep(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Beat: send the notify task again for low-stock episodes nobody was told about (the send after the
    commit that set `low_stock_since` was lost). Returns how many products were re-sent.

    Safe to repeat: `low_stock_notify` claims each episode before it emails, so a task sent twice (the
    original turning up late) emails once. Reads through the partial index on un-notified episodes.
    """
    now = now or timezone.now()
    with unscoped("low-stock sweeper: every merchant's lost notify tasks"):
        rows = list(
            Product.objects.filter(low_stock_since__lte=now - SWEEP_AFTER, low_stock_since__gt=now - SWEEP_WITHIN,
                                   merchant__is_active=True)
            .filter(Q(low_stock_notified_at__isnull=True) | Q(low_stock_notified_at__lt=F("low_stock_since")))
            .order_by("merchant_id", "pk").values_list("merchant_id", "pk")[:limit]
        )
    by_merchant: dict[int, list[int]] = defaultdict(list)
    for merchant_id, pk in rows:
        by_merchant[merchant_id].append(pk)
    for merchant_id, product_ids in by_merchant.items():
        enqueue_on_commit("inventory.low_stock_notify", merchant_id=merchant_id, product_ids=product_ids)
    if rows:
        logger.info("inventory.low_stock.sweep", extra={"resent": len(rows), "merchants": len(by_merchant)})
    return len(rows)
