"""Stock out: the "channels" availability consumer, the push rules, and what a channel's own quantity
tells us (an echo of our push, or drift).

Inventory marks every product whose availability changed; after the marks commit it calls our
`on_marked`, which enqueues one debounced push per merchant (a burst of changes becomes one push).
The push computes each listing's quantity from its integration's rule, sends only what differs from
what the channel holds as far as we know (`last_pushed_quantity`, or the drifted `channel_quantity`) and
is not the quantity the channel refused for that listing alone (`refused_quantity`, until a retry),
in the adapter's bulk call, records each item's result on its listing, and acknowledges the marks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import Merchant
from core.enqueue import enqueue_now
from core.http import AuthFailed, ExternalError
from core.metrics import PUSH_SECONDS
from integrations.channels.base import PushResult, QuantityPush
from integrations.listings import integration_location_ids
from integrations.models import Integration, Listing
from integrations.registry import channel_packages
from integrations.sync.common import RETRYABLE, ChannelSession, sync_failed, sync_succeeded
from inventory import services as inventory_services
from inventory.selectors import (
    availability_pending_merchant_ids,
    products_available,
    products_without_stock_history,
)

logger = logging.getLogger("integrations.sync")

CONSUMER = "channels"
PUSH_TASK = "integrations.stock_push"
DEBOUNCE_SECONDS = 1.0
DEBOUNCE_KEY = "integrations:stock_push:{merchant_id}"
MARKS_PER_RUN = 5000
QUANTITY_CEILING = 1_000_000  # what "unlimited" (backorders) is sent as, unless the rule caps it lower


def listing_quantity(*, available: int, rules: dict[str, Any], listing: Listing) -> int | None:
    """The quantity a listing should show, or None when its pushes are off. The merchant's rule, in order:
    hold back `buffer_units`, offer `percent` of the rest (rounded down), send 0 when that is at or below
    `zero_at_or_below`, cap at `max_quantity`; a listing's `override_quantity` replaces all of it."""
    if listing.is_push_disabled:
        return None
    if listing.override_quantity is not None:
        return max(0, listing.override_quantity)
    quantity = min(available, QUANTITY_CEILING) - int(rules.get("buffer_units") or 0)
    percent = rules.get("percent")
    if percent is not None and quantity > 0:
        quantity = quantity * int(percent) // 100
    zero_at = rules.get("zero_at_or_below")
    if zero_at is not None and quantity <= int(zero_at):
        quantity = 0
    cap = rules.get("max_quantity")
    if cap is not None:
        quantity = min(quantity, int(cap))
    return max(0, quantity)


# ---------------------------------------------------------------- scheduling


def stock_push_schedule(merchant_id: int) -> bool:
    """inventory's on_marked hook: one push for the merchant in DEBOUNCE_SECONDS, unless one is already
    waiting (the cache key). Returns whether a push was enqueued."""
    key = DEBOUNCE_KEY.format(merchant_id=merchant_id)
    if not cache.add(key, 1, timeout=int(DEBOUNCE_SECONDS * 30) or 30):
        return False
    # A lost send (the broker down) is logged by core.enqueue; the beat fan-out pushes the marks later.
    enqueue_now(PUSH_TASK, countdown=DEBOUNCE_SECONDS, merchant_id=merchant_id)
    return True


# ---------------------------------------------------------------- the push


def stock_push(*, merchant: Merchant, limit: int = MARKS_PER_RUN) -> dict[str, int]:
    """Take the merchant's marks and push the changed quantities of their listings on every active
    integration. Marks are acknowledged unless a channel was throttled or down: then they come back
    when their lease runs out and the beat fan-out pushes again."""
    cache.delete(DEBOUNCE_KEY.format(merchant_id=merchant.pk))  # changes from now on schedule another push
    marks = inventory_services.availability_take(merchant=merchant, consumer=CONSUMER, limit=limit)
    product_ids = {m.product_id for m in marks}
    totals = {"marks": len(marks), "pushed": 0, "failed": 0, "unchanged": 0}
    retry_later = False
    if product_ids:
        for integration in Integration.objects.filter(merchant=merchant, status=Integration.Status.ACTIVE):
            outcome = listings_push(merchant=merchant, integration=integration, product_ids=product_ids)
            retry_later |= outcome.pop("retry", 0) > 0
            for key, value in outcome.items():
                totals[key] = totals.get(key, 0) + value
    if marks and not retry_later:
        if inventory_services.availability_ack(merchant=merchant, consumer=CONSUMER, marks=marks):
            stock_push_schedule(merchant.pk)  # re-marked during this push: its own schedule may have come and gone
    return totals


def listings_push(*, merchant: Merchant, integration: Integration, product_ids: Iterable[int] | None = None,
                  ) -> dict[str, int]:
    """Push the integration's listings of `product_ids` (all matched listings when None) whose computed
    quantity differs from what the channel holds; one adapter bulk call, one result per listing."""
    current = Integration.objects.filter(merchant=merchant, pk=integration.pk).values_list("status", flat=True).first()
    location = integration.settings.get("location_external_id") or ""
    package = channel_packages.get(integration.channel)
    has_locations = package is None or package.has_locations
    # a store needing reconnection is not synced; one whose channel keeps stock per location waits for one
    if current != Integration.Status.ACTIVE or (has_locations and not location):
        return {"pushed": 0, "failed": 0, "unchanged": 0}
    pending_read = pushes_pending_read(merchant=merchant, integration=integration)
    if pending_read.get("retry"):
        return {"pushed": 0, "failed": 0, "unchanged": 0, "retry": 1}
    listings = Listing.objects.filter(merchant=merchant, integration=integration, product__isnull=False,
                                      is_push_disabled=False)
    if product_ids is not None:
        listings = listings.filter(product_id__in=set(product_ids))
    listings = list(listings.order_by("id"))
    # A listing whose last push the channel has not decided yet is not pushed over it; its marks come
    # back (retry) and the push after the decision sends what is current then.
    undecided = sum(1 for lst in listings if lst.push_pending_ref)
    listings = [lst for lst in listings if not lst.push_pending_ref]
    # A product we hold no truth for (no stock movement ever) is not pushed unless the merchant set the
    # listing's quantity: its 0 would overwrite the store's real count. Its opening stock pushes it.
    no_truth = products_without_stock_history(merchant=merchant, product_ids={lst.product_id for lst in listings})
    waiting = [lst for lst in listings if lst.product_id in no_truth and lst.override_quantity is None]
    listings = [lst for lst in listings if lst not in waiting]
    available = products_available(merchant=merchant, product_ids={lst.product_id for lst in listings},
                                   location_ids=integration_location_ids(integration))
    items, targets = [], []
    unchanged = len(waiting)
    for listing in listings:
        quantity = listing_quantity(available=available.get(listing.product_id, 0), rules=integration.settings,
                                    listing=listing)
        believed = listing.channel_quantity if listing.channel_quantity is not None else listing.last_pushed_quantity
        if quantity is None or (quantity == listing.last_pushed_quantity and believed == quantity):
            unchanged += 1
            continue
        if quantity == listing.refused_quantity:  # refused as it is: again only when it changes, or on a retry
            unchanged += 1
            continue
        items.append(QuantityPush(listing_external_id=listing.external_id, channel_ref=listing.channel_ref,
                                  location_external_id=location if has_locations else "", quantity=quantity,
                                  previous_quantity=believed, channel_data=dict(listing.channel_data or {})))
        targets.append(listing)
    if not items:
        return _counts(pushed=0, failed=0, unchanged=unchanged, pending=0, retry=undecided)
    session = ChannelSession(merchant=merchant, integration=integration)
    started = time.monotonic()
    try:
        results = session.call(lambda a: a.push_quantities(items))
    except ExternalError as exc:
        PUSH_SECONDS.labels(channel=integration.channel, outcome="failed").observe(time.monotonic() - started)
        sync_failed(merchant=merchant, integration=integration, exc=exc, during="stock push")
        if isinstance(exc, AuthFailed) or not isinstance(exc, RETRYABLE):
            _record_errors(merchant, targets, exc.message or exc.__class__.__name__)
            return {"pushed": 0, "failed": len(items), "unchanged": unchanged}
        return {"pushed": 0, "failed": 0, "unchanged": unchanged, "retry": len(items)}
    PUSH_SECONDS.labels(channel=integration.channel, outcome="answered").observe(time.monotonic() - started)
    outcome = _results_apply(merchant, targets, [item.quantity for item in items], results)
    if outcome["failed"]:
        logger.info("integrations.push.refused_items", extra={"merchant_id": merchant.pk,
                                                              "integration_id": integration.pk,
                                                              "count": outcome["failed"]})
    sync_succeeded(merchant=merchant, integration=integration)
    return _counts(**outcome, unchanged=unchanged, retry=undecided + outcome["pending"])


def _counts(*, pushed: int, failed: int, unchanged: int, pending: int, retry: int) -> dict[str, int]:
    """A push's counts; `pending` (the channel decides later) and `retry` (marks to come back) only when
    there are any, so a synchronous channel's push reads as it always has."""
    counts = {"pushed": pushed, "failed": failed, "unchanged": unchanged}
    counts.update({key: value for key, value in (("pending", pending), ("retry", retry)) if value})
    return counts


def _results_apply(merchant: Merchant, listings: list[Listing], quantities: list[int | None],
                   results: list[PushResult]) -> dict[str, int]:
    """Record each listing's push result: pushed (the quantity the channel now shows), refused (the
    channel's reason), or pending (the channel's reference and the quantity sent, read back later).

    The rows are locked (one lock, id order: two pushes of one store, a rule change's beside the marks', would
    otherwise lock them in opposite orders) and read again before anything is decided: `listings` were read
    before the channel was called, and meanwhile a webhook or a poll may have recorded what the store shows
    (`channel_quantity`). Deciding on those stale copies wrote the old count back over the new one (a refused
    item) and kept it as what the first push changed (`first_push_from`)."""
    now = timezone.now()
    ok, bad, pending = [], [], []
    with transaction.atomic():
        fresh = {row.pk: row for row in Listing.objects.select_for_update(of=("self",)).filter(
            merchant=merchant, pk__in=[lst.pk for lst in listings]).order_by("id")}
        for stale, quantity, result in zip(listings, quantities, results, strict=True):
            listing = fresh.get(stale.pk)
            if listing is None:  # unlisted meanwhile: nothing left to record on
                continue
            if result.pending_ref:
                listing.push_pending_ref, listing.push_pending_quantity = result.pending_ref[:128], quantity
                pending.append(listing)
                continue
            listing.push_pending_ref, listing.push_pending_quantity = "", None
            listing.refused_quantity = None if result.ok or result.retryable else quantity
            if result.ok:
                if listing.last_pushed_quantity is None:  # the first push: what it changed at the store is kept
                    listing.first_push_from, listing.first_push_to = listing.channel_quantity, quantity
                    listing.first_pushed_at = now
                listing.last_pushed_quantity, listing.last_pushed_at = quantity, now
                listing.channel_quantity = result.channel_quantity if result.channel_quantity is not None else quantity
                listing.error, listing.error_at = "", None
                ok.append(listing)
            else:
                listing.error, listing.error_at = (result.error or "refused")[:4000], now
                if result.channel_quantity is not None:
                    listing.channel_quantity = result.channel_quantity
                bad.append(listing)
        Listing.objects.bulk_update(ok, ["last_pushed_quantity", "last_pushed_at", "channel_quantity", "error",
                                         "error_at", "push_pending_ref", "push_pending_quantity", "refused_quantity",
                                         "first_push_from", "first_push_to", "first_pushed_at", "updated_at"],
                                    batch_size=1000)
        Listing.objects.bulk_update(bad, ["error", "error_at", "channel_quantity", "push_pending_ref",
                                          "push_pending_quantity", "refused_quantity", "updated_at"], batch_size=1000)
        Listing.objects.bulk_update(pending, ["push_pending_ref", "push_pending_quantity", "updated_at"],
                                    batch_size=1000)
    return {"pushed": len(ok), "failed": len(bad), "pending": len(pending)}


def pushes_pending_read(*, merchant: Merchant, integration: Integration) -> dict[str, int]:
    """Ask the channel how the pushes it took for later (a feed) went, and record what it has decided;
    a listing still pending is not pushed again until it is decided. Throttled or down: "retry"."""
    listings = list(Listing.objects.filter(merchant=merchant, integration=integration)
                    .exclude(push_pending_ref="").order_by("id"))
    if not listings:
        return {"pushed": 0, "failed": 0, "pending": 0}
    session = ChannelSession(merchant=merchant, integration=integration)
    try:
        results = session.call(lambda a: a.push_results([lst.push_pending_ref for lst in listings]))
    except ExternalError as exc:
        sync_failed(merchant=merchant, integration=integration, exc=exc, during="push results")
        return {"pushed": 0, "failed": 0, "pending": len(listings), "retry": int(isinstance(exc, RETRYABLE))}
    return _results_apply(merchant, listings, [lst.push_pending_quantity for lst in listings], results)


def _record_errors(merchant: Merchant, listings: list[Listing], error: str) -> None:
    Listing.objects.filter(merchant=merchant, pk__in=[lst.pk for lst in listings]).update(
        error=error[:4000], error_at=timezone.now())


# ---------------------------------------------------------------- what the channel shows


def listing_channel_quantity_seen(*, merchant: Merchant, integration: Integration, external_id: str,
                                  quantity: int) -> str:
    """A channel told us a listing's quantity (a webhook, a poll, a listing import). Our own pushed value
    echoed back changes nothing ("echo"); a different one is drift: logged, counted on the integration,
    and the product marked so our truth is pushed over it ("drift"). "unknown" for a listing we do not have."""
    outcome = quantities_seen(merchant=merchant, integration=integration, quantities={str(external_id): quantity})
    return outcome.get(str(external_id), "unknown")


def channel_ref_quantity_seen(*, merchant: Merchant, integration: Integration, channel_ref: str,
                              quantity: int) -> dict[str, str]:
    """A channel told us the quantity of a stock handle (`channel_ref`) rather than of one listing: every
    listing sharing it sees it, in one quantities_seen call (one lock pass in id order). {external_id: outcome}."""
    external_ids = Listing.objects.filter(merchant=merchant, integration=integration,
                                          channel_ref=channel_ref).values_list("external_id", flat=True)
    return quantities_seen(merchant=merchant, integration=integration,
                           quantities={str(external_id): quantity for external_id in external_ids})


def quantities_seen(*, merchant: Merchant, integration: Integration, quantities: dict[str, int]) -> dict[str, str]:
    """listing_channel_quantity_seen for many listings at once (a page of listings)."""
    if not quantities:
        return {}
    outcome: dict[str, str] = {}
    drifted_products: set[int] = set()
    drifted = 0
    with transaction.atomic():
        rows = list(Listing.objects.select_for_update().filter(
            merchant=merchant, integration=integration, external_id__in=list(quantities)).order_by("id"))
        changed = []
        for row in rows:
            seen = int(quantities[row.external_id])
            if row.last_pushed_quantity is not None and seen == row.last_pushed_quantity:
                outcome[row.external_id] = "echo"
                if row.channel_quantity != seen:
                    row.channel_quantity = seen
                    changed.append(row)
                continue
            if row.channel_quantity == seen and row.last_pushed_quantity is None:
                outcome[row.external_id] = "unchanged"
                continue
            row.channel_quantity = seen
            changed.append(row)
            if row.product_id is not None and not row.is_push_disabled:
                drifted_products.add(row.product_id)
            if row.last_pushed_quantity is not None:
                outcome[row.external_id] = "drift"
                drifted += 1
                logger.info("integrations.listing.drift",
                            extra={"merchant_id": merchant.pk, "integration_id": integration.pk,
                                   "listing_id": row.pk, "ours": row.last_pushed_quantity, "channel": seen})
            else:
                outcome[row.external_id] = "first-seen"
        Listing.objects.bulk_update(changed, ["channel_quantity", "updated_at"])
        if drifted:
            _count_drift(merchant, integration, drifted)
        if drifted_products:
            inventory_services.availability_mark(merchant=merchant, product_ids=drifted_products)
    return outcome


def _count_drift(merchant: Merchant, integration: Integration, count: int) -> None:
    with transaction.atomic():
        row = Integration.objects.select_for_update(of=("self",)).only("checkpoints").get(
            merchant=merchant, pk=integration.pk)
        checkpoints = dict(row.checkpoints or {})
        checkpoints["drift_count"] = int(checkpoints.get("drift_count") or 0) + count
        checkpoints["drift_last_at"] = timezone.now().isoformat()
        Integration.objects.filter(merchant=merchant, pk=integration.pk).update(checkpoints=checkpoints)
    integration.checkpoints = checkpoints


def stock_push_due_merchant_ids() -> list[int]:
    """Merchants with marks waiting for the channels consumer: the beat fan-out's safety net."""
    return availability_pending_merchant_ids(consumer=CONSUMER)


__all__ = ["CONSUMER", "channel_ref_quantity_seen", "listing_channel_quantity_seen", "pushes_pending_read", "listing_quantity", "listings_push",
           "quantities_seen", "stock_push", "stock_push_due_merchant_ids", "stock_push_schedule"]
