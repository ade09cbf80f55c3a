"""Connecting a store and keeping its orders current: the connection test, listing import, webhook
subscriptions and the order backfill (the connect job), the same steps on "sync now", and the
incremental poll behind webhooks.

Every step is resumable: listings and orders save their page cursor after each page in a transaction
of their own (with the newest `updatedAt` seen), and the connect job records which steps are done,
so a run that crashes or is retried continues where it stopped and re-reads at most one batch of
pages (ingest is idempotent, so a page read twice costs nothing).
"""

from __future__ import annotations

import contextvars
import logging
import queue
import random
import threading
import time
import weakref
from datetime import datetime, timedelta
from typing import Any

from celery import signals as celery_signals
from django.conf import settings as django_settings
from django.db import connections as db_connections
from django.db import transaction
from django.utils import timezone

from accounts.models import Merchant
from accounts.tenancy import unscoped
from core.errors import ValidationFailed
from core.http import AuthFailed, ExternalError
from core.receivers import webhook_path
from integrations.channels.base import ChannelListing
from integrations.listings import listings_auto_matched
from integrations.models import Integration, Listing
from integrations.registry import channel_packages
from integrations.selectors import integration_doctor
from integrations.sync.bulk import PAGE_SIZE, orders_bulk
from integrations.sync.common import (
    RETRYABLE,
    ChannelSession,
    checkpoints_update,
    is_active,
    sync_failed,
    sync_succeeded,
)
from integrations.sync.stock import listings_push, quantities_seen
from inventory.selectors import product_match_skus, sku_key
from jobs.models import WorkerJob
from jobs.services import JobRun, JobStopped, job_progress, job_run
from orders.channels import store_key
from orders.normalized import NormalizedOrder
from orders.services import order_ingest_many

logger = logging.getLogger("integrations.sync")

CONNECT_STEPS = ("connection", "listings", "webhooks", "orders")
SYNC_STEPS = ("listings", "webhooks", "orders", "stock")
POLL_JITTER = 0.2
DEFAULT_POLL_SECONDS = 300.0


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


# ---------------------------------------------------------------- steps


def connection_step(*, merchant: Merchant, integration: Integration, session: ChannelSession,
                    job: WorkerJob | None = None) -> dict:
    """Test the credentials, store the granted and missing scopes (the doctor reports what is missing),
    and map the location when the shop has one, or one primary, location."""
    report = session.call(lambda a: a.test_connection())
    checkpoints_update(merchant=merchant, integration=integration, scopes=list(report.scopes),
                       missing_scopes=list(report.missing_scopes), shop_name=report.shop_name,
                       connection_findings=[list(found) for found in report.findings])
    chosen = None
    if len(report.locations) == 1:
        chosen = report.locations[0]
    else:
        primary = [loc for loc in report.locations if loc.is_primary]
        chosen = primary[0] if len(primary) == 1 else None
    with transaction.atomic():
        row = Integration.objects.select_for_update(of=("self",)).get(merchant=merchant, pk=integration.pk)
        if chosen is not None and not row.settings.get("location_external_id"):
            row.settings = {**row.settings, "location_external_id": chosen.external_id}
            row.save(update_fields=["settings", "updated_at"])
        integration.settings = row.settings
    return {"shop_name": report.shop_name, "missing_scopes": list(report.missing_scopes),
            "location_external_id": integration.settings.get("location_external_id", "")}


def listings_step(*, merchant: Merchant, integration: Integration, session: ChannelSession,
                  job: WorkerJob | None = None) -> dict:
    """Import every listing page by page (upsert by external id; a new or unmatched listing is matched to a
    product by SKU, case-insensitive; a merchant's own mapping is kept)."""

    cursor = integration.checkpoints.get("listings_cursor")
    seen = 0
    while True:
        page = session.call(lambda a, c=cursor: a.fetch_listings(c))
        listings_upsert(merchant=merchant, integration=integration, items=page.items)
        quantities_seen(merchant=merchant, integration=integration,
                        quantities={i.external_id: i.quantity for i in page.items if i.quantity is not None})
        seen += len(page.items)
        cursor = page.next_cursor
        checkpoints_update(merchant=merchant, integration=integration, listings_cursor=cursor)
        if job is not None:
            _progress(job, seen)
        if cursor is None:
            return {"listings": seen}


def listings_upsert(*, merchant: Merchant, integration: Integration, items: list[ChannelListing]) -> dict[str, int]:
    """Upsert listings by external id (a page of the import, or a product-update webhook's variants): a new
    or unmatched listing finds its product by the rule order lines use (inventory's product_match_skus:
    the product's SKU, case-insensitive, then the store's remembered alias, then the merchant's); a
    merchant's own mapping is kept."""
    by_sku = product_match_skus(merchant=merchant, skus=[i.sku for i in items if i.sku],
                                store_key=store_key(integration.pk))
    fields = ("channel_ref", "channel_data", "sku", "title", "product_id")
    with transaction.atomic():
        existing = {row.external_id: row for row in Listing.objects.select_for_update().filter(
            merchant=merchant, integration=integration, external_id__in=[i.external_id for i in items])}
        new, changed, first_matched = [], [], []
        for item in items:
            product = by_sku.get(sku_key(item.sku)) if item.sku else None
            row = existing.get(item.external_id)
            if row is None:
                new.append(Listing(merchant=merchant, integration=integration, external_id=item.external_id,
                                   channel_ref=item.channel_ref, channel_data=dict(item.channel_data),
                                   sku=item.sku[:255], title=item.title[:512], product=product))
                continue
            before = tuple(getattr(row, name) for name in fields)
            row.channel_ref, row.channel_data = item.channel_ref, dict(item.channel_data)
            row.sku, row.title = item.sku[:255], item.title[:512]
            if row.product_id is None and product is not None:
                row.product = product
                first_matched.append(item.external_id)
            if tuple(getattr(row, name) for name in fields) != before:
                changed.append(row)
        Listing.objects.bulk_create(new, ignore_conflicts=True)
        Listing.objects.bulk_update(changed, ["channel_ref", "channel_data", "sku", "title", "product", "updated_at"])
    first_matched += [row.external_id for row in new if row.product is not None]
    if first_matched:  # a product with no stock history opens with the store's quantity (integrations.listings)
        listings_auto_matched(merchant=merchant, integration=integration, external_ids=first_matched,
                              quantities={i.external_id: i.quantity for i in items if i.quantity is not None})
    return {"created": len(new), "updated": len(changed), "unchanged": len(items) - len(new) - len(changed)}


def webhook_url(integration: Integration) -> str | None:
    """This integration's webhook address, or None when WEBHOOK_BASE_URL is unset or not https (a channel
    will not deliver to it)."""
    base = (getattr(django_settings, "WEBHOOK_BASE_URL", "") or "").rstrip("/")
    if not base.startswith("https://"):
        return None
    return f"{base}{webhook_path(kind='channel', owner=integration)}"


def webhooks_step(*, merchant: Merchant, integration: Integration, session: ChannelSession,
                  job: WorkerJob | None = None) -> dict:
    """Make sure the channel delivers every topic its adapter wants (to our URL, or to its own queue);
    the adapter does the diffing (subscriptions the channel dropped are made again). The report is kept
    in checkpoints["webhooks"] for the doctor."""
    before = integration.checkpoints.get("webhooks") or {}
    report = session.call(lambda a: a.subscriptions_ensure(webhook_url(integration)))
    # A topic we had subscribed before that had to be made again: the channel deleted its subscription.
    recreated = [t for t in report.created if t in (before.get("topics") or []) and before.get("url") == report.target]
    state = {"ok": report.ok, "checked_at": _iso(timezone.now()), "topics": list(report.topics),
             "missing": list(report.missing), "url": report.target, "reason": report.reason,
             "reactivated": list(report.reactivated), "recreated": recreated}
    checkpoints_update(merchant=merchant, integration=integration, webhooks=state)
    return {"webhooks_ok": state["ok"]}


def orders_page_ingest(*, merchant: Merchant, integration: Integration,
                       items: list[NormalizedOrder]) -> tuple[datetime | None, list[str]]:
    """One page of a channel's orders as the channel returned it, whichever way it was read (paged, or a bulk
    export's lines): every path that brings orders in by the page goes through here, so ingest has one door.
    Returns the newest channel timestamp seen and the external ids of the orders refused (one order we cannot
    take must not stop every later one)."""
    newest: datetime | None = None
    refused: list[str] = []
    # Orders placed before the store was connected are history, not news: no emails for them.
    # Channels give whole seconds, so an order placed in the second we connected is news too.
    connected = integration.created_at.replace(microsecond=0)
    notify = [n.placed_at is None or n.placed_at >= connected for n in items]
    # One transaction and a fixed number of statements for the page (falling back to smaller pieces on a
    # conflict), each order's outcome what order_ingest gives one by one.
    outcomes = order_ingest_many(merchant=merchant, integration_id=integration.pk, orders=items, notify=notify)
    for normalized, outcome in zip(items, outcomes, strict=True):
        if isinstance(outcome, ValidationFailed):
            refused.append(normalized.external_id)
            logger.warning("integrations.order.refused", extra={
                "merchant_id": merchant.pk, "integration_id": integration.pk,
                "external_id": normalized.external_id, "code": outcome.code})
        stamp = normalized.channel_updated_at or normalized.placed_at
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
    return newest, refused


def orders_step(*, merchant: Merchant, integration: Integration, session: ChannelSession,
                job: WorkerJob | None = None) -> dict:
    """Orders updated since the checkpoint (the first time: the last `backfill_days`), page by page (read ahead
    on a thread, the pages that came in meanwhile ingested together through orders_page_ingest); after each
    batch the cursor and the newest updatedAt are saved. A first
    backfill bigger than BULK_BACKFILL_THRESHOLD orders goes by the channel's bulk export instead, where the
    adapter has one (integrations/sync/bulk.py), and pages when the export fails."""
    cp = integration.checkpoints
    since = _parse(cp.get("orders_since"))
    if since is None:
        since = _parse(cp.get("orders_updated_at"))
    if since is None:
        days = int(integration.settings.get("backfill_days", 60))
        since = timezone.now() - timedelta(days=days)
    cursor = cp.get("orders_cursor")
    # (an export that failed once is not tried again for this store: the backfill pages)
    first_backfill = cursor is None and not cp.get("orders_updated_at") and not cp.get("orders_bulk_fallback")
    if cp.get("orders_bulk") or first_backfill:
        since = _parse((cp.get("orders_bulk") or {}).get("since")) or since
        # A big history is exported by the channel as one file where it can (integrations/sync/bulk.py);
        # None: not for this run (or the export failed), so it is paged from `since` as always.
        by_export = orders_bulk(merchant=merchant, integration=integration, session=session, since=since,
                                ingest=orders_page_ingest, job=job)
        if by_export is not None:
            return by_export
        cp = integration.checkpoints
    newest = _parse(cp.get("orders_updated_at"))
    done = int(cp.get("orders_fetched") or 0) if cursor else 0  # a resumed run counts on from its checkpoint
    skipped: list[str] = []
    # The channel's pages are read on one thread, up to READ_AHEAD pages ahead, while ours ingests what has come
    # in: the channel's answers and our ingest no longer wait for each other, and the pages that arrived while
    # the last batch was ingested go in together (one order_ingest_many of up to PAGE_SIZE orders: a channel
    # whose page is small, as a cost-limited API's is, pays a transaction and a checkpoint per batch, not
    # per page). The adapter is used by that one thread (its throttle keeps the channel's cost budget); the
    # checkpoint follows the pages ingested, so a crash re-reads at most the pages after it, as before.
    with _PageReader(session, since, cursor) as reader:
        while True:
            pages, failed = reader.batch(PAGE_SIZE)
            cursor = pages[-1].next_cursor if pages else cursor
            items = [order for page in pages for order in page.items]
            if pages:
                page_newest, refused = orders_page_ingest(merchant=merchant, integration=integration, items=items)
                skipped.extend(refused)
                if page_newest is not None and (newest is None or page_newest > newest):
                    newest = page_newest
                done += len(items)
                changes: dict[str, Any] = {"orders_cursor": cursor, "orders_since": _iso(since) if cursor else None,
                                           "orders_fetched": done if cursor else None}
                if newest is not None:
                    changes["orders_updated_at"] = _iso(newest)
                checkpoints_update(merchant=merchant, integration=integration, **changes)
                if items:
                    now = timezone.now()
                    Integration.objects.filter(merchant=merchant, pk=integration.pk).update(last_order_seen_at=now)
                    integration.last_order_seen_at = now
                if job is not None:
                    _progress(job, done)
            if failed is not None:
                raise failed  # what was read before the failure is ingested and checkpointed above
            if cursor is None:
                if skipped:
                    checkpoints_update(merchant=merchant, integration=integration, orders_refused=skipped[-50:])
                return {"orders": done, "orders_refused": len(skipped)}


# How many pages the reader may be ahead of ingest: enough for a batch of PAGE_SIZE orders of small pages (a
# cost-limited API's 22 a page), and a bounded memory for channels with big pages (12 x 100 orders at most).
READ_AHEAD = 12


# How long leaving the reader waits for its thread: enough for a reader waiting on the full queue to see the stop
# (it looks every 0.1 s), never for a page fetch in flight: that fetch is abandoned (the thread ends when it
# returns, writing nothing more), so a task stopped by its soft time limit leaves before the hard one kills it.
READER_EXIT_WAIT = 1.0
# How long a worker process that ends waits for the abandoned fetches still in flight: one may be refreshing the
# store's access token, and the vendor's new pair (its refresh token replacing the old) is only ours once saved.
READER_SHUTDOWN_WAIT = 30.0
_readers: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
# How often the ingesting thread, waiting for a page, checks that the reader is still alive.
READER_POLL = 0.5


def _readers_finish(**_: Any) -> None:
    """Celery's worker_process_shutdown, in the pool child that ends: let the page fetches the steps abandoned
    finish (and save refreshed credentials), at most READER_SHUTDOWN_WAIT in all, before billiard's os._exit."""
    deadline = time.monotonic() + READER_SHUTDOWN_WAIT
    for thread in list(_readers):
        thread.join(timeout=max(0.0, deadline - time.monotonic()))


celery_signals.worker_process_shutdown.connect(_readers_finish, weak=False, dispatch_uid="orders-readers-finish")


class OrdersReaderDied(RuntimeError):
    """The page reader's thread ended without a page or an error to hand over (or with a BaseException, which is
    its cause): raised in the ingesting thread instead of waiting for a page that will never come."""


class _PageReader:
    """fetch_orders(since, cursor) page after page on a thread of its own, into a bounded queue, in a copy of the
    caller's context (its tenant scope and log fields); a database connection the reads opened there
    (credentials reloaded or saved) is closed when it ends. Leaving the `with` stops the reader and waits for it
    at most READER_EXIT_WAIT; however the reader ends, the ingesting thread gets an error, never a wait."""

    def __init__(self, session: ChannelSession, since: datetime | None, cursor: str | None) -> None:
        self.session, self.since, self.cursor = session, since, cursor
        self.queue: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
        self.stopped = threading.Event()
        # Not a daemon: the step does not wait for an abandoned fetch, but the process does before it ends. A
        # fetch may be refreshing the store's access token, and a thread killed between the vendor issuing the new
        # pair (the old refresh token then spent) and the credentials' save committing leaves a store that must be
        # connected again. Python joins such a thread at exit; a Celery prefork child ends with os._exit, which
        # joins nothing, so worker_process_shutdown waits for it too (_readers_finish).
        self.thread = threading.Thread(target=contextvars.copy_context().run, args=(self._read,),
                                       name="orders-read-ahead", daemon=False)

    def __enter__(self) -> _PageReader:
        self.thread.start()
        _readers.add(self.thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        while True:  # a reader blocked on a full queue sees the stop
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        self.thread.join(timeout=READER_EXIT_WAIT)

    def _put(self, item: tuple) -> bool:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        cursor = self.cursor
        try:
            while not self.stopped.is_set():
                page = self.session.call(lambda a, c=cursor: a.fetch_orders(self.since, c))
                if not self._put((page, None)) or page.next_cursor is None:
                    return
                cursor = page.next_cursor
        except Exception as exc:  # handed to the ingesting thread, which raises it after what came before
            self._put((None, exc))
        except BaseException as exc:  # (SystemExit, a greenlet's exit...) as an error there too, not a silent end
            died = OrdersReaderDied(f"The orders reader stopped: {exc!r}.")
            died.__cause__ = exc
            self._put((None, died))
        finally:
            db_connections.close_all()  # the reader thread's own connections only

    def _next(self) -> tuple[Any, Exception | None]:
        """The reader's next item, waiting for it while the reader lives."""
        while True:
            try:
                return self.queue.get(timeout=READER_POLL)
            except queue.Empty:
                if self.thread.is_alive():
                    continue
            try:
                return self.queue.get_nowait()  # what it put just before it ended
            except queue.Empty:
                return None, OrdersReaderDied("The orders reader ended without a page or an error.")

    def batch(self, size: int) -> tuple[list[Any], Exception | None]:
        """The next page (waiting for it), with the pages already read after it while they add up to fewer than
        `size` orders; and the reader's error, when it failed after them (or at once)."""
        pages: list[Any] = []
        count = 0
        while True:
            try:
                page, failed = self._next() if not pages else self.queue.get_nowait()
            except queue.Empty:
                return pages, None
            if failed is not None:
                return pages, failed
            pages.append(page)
            count += len(page.items)
            if page.next_cursor is None or count >= size:
                return pages, None


def stock_step(*, merchant: Merchant, integration: Integration, session: ChannelSession,
               job: WorkerJob | None = None) -> dict:
    """"Sync now" also pushes every matched listing whose quantity differs from ours (e.g. after the
    location was mapped or the push rules changed, which mark nothing in inventory)."""
    result = listings_push(merchant=merchant, integration=integration)
    return {"stock_pushed": result["pushed"], "stock_failed": result["failed"]}


STEP_FUNCTIONS = {"connection": connection_step, "listings": listings_step, "webhooks": webhooks_step,
                  "orders": orders_step, "stock": stock_step}


def _progress(job: WorkerJob, done: int) -> None:
    job_progress(job=job, done=done)


# ---------------------------------------------------------------- the jobs


def integration_job_run(*, merchant: Merchant, integration_id: int, job_id: int,
                        steps: tuple[str, ...] = CONNECT_STEPS) -> str:
    """The connect job (every step) or "sync now" (SYNC_STEPS), run by jobs.services.job_run. Steps already
    done by an earlier attempt of the same job are skipped; a throttled or failing channel raises after the
    failure is recorded so the task retries from the checkpoints; refused credentials end the job
    (`needs_reconnect`)."""
    integration = Integration.objects.filter(merchant=merchant, pk=integration_id).first()
    if integration is None:
        return "missing"

    def body(run: JobRun) -> dict[str, Any]:
        job = run.job
        if integration.status != Integration.Status.ACTIVE:
            raise JobStopped(f"The store is {integration.get_status_display().lower()}.", outcome=integration.status)
        progress = integration.checkpoints.get("job") or {}
        done = list(progress.get("done") or []) if progress.get("id") == job.pk else []
        session = ChannelSession(merchant=merchant, integration=integration)
        result: dict[str, Any] = dict(progress.get("result") or {}) if progress.get("id") == job.pk else {}
        step = ""
        try:
            for step in steps:
                if step in done:
                    continue
                result.update(STEP_FUNCTIONS[step](merchant=merchant, integration=integration, session=session,
                                                   job=job))
                done.append(step)
                checkpoints_update(merchant=merchant, integration=integration,
                                   job={"id": job.pk, "done": done, "result": result})
        except ExternalError as exc:
            error = sync_failed(merchant=merchant, integration=integration, exc=exc, during=step)
            outcome = "needs_reconnect" if isinstance(exc, AuthFailed) else "rejected"
            raise JobStopped(error, outcome=outcome, retryable=isinstance(exc, RETRYABLE)) from exc
        sync_succeeded(merchant=merchant, integration=integration)
        integration_poll_schedule(merchant=merchant, integration=integration)
        result["findings"] = [f.code for f in integration_doctor(merchant=merchant, integration=integration)]
        return result

    return job_run(merchant=merchant, job_id=job_id, body=body)


def integration_poll(*, merchant: Merchant, integration_id: int) -> str:
    """The safety net behind webhooks: orders updated since the checkpoint, and subscriptions that went
    missing made again. Throttled/Transient raise (the task retries from the checkpoint)."""
    integration = is_active(merchant=merchant, integration_id=integration_id)
    if integration is None:
        return "inactive"
    session = ChannelSession(merchant=merchant, integration=integration)
    step = "orders"
    try:
        found = orders_step(merchant=merchant, integration=integration, session=session)
        step = "webhooks"
        webhooks_step(merchant=merchant, integration=integration, session=session)
    except ExternalError as exc:
        sync_failed(merchant=merchant, integration=integration, exc=exc, during=step)
        if isinstance(exc, RETRYABLE):
            raise
        return "needs_reconnect" if isinstance(exc, AuthFailed) else "rejected"
    sync_succeeded(merchant=merchant, integration=integration)
    return f"ok orders={found['orders']}"


def integration_webhooks_remove(*, merchant: Merchant, integration_id: int) -> str:
    """After a disconnect: delete this integration's subscriptions on the channel (its orders stay).
    Refused credentials are no failure here: the store has dropped us already."""
    integration = Integration.objects.filter(merchant=merchant, pk=integration_id).first()
    if integration is None or integration.status != Integration.Status.DISCONNECTED:
        return "not-disconnected"
    url = webhook_url(integration)
    session = ChannelSession(merchant=merchant, integration=integration)
    try:
        removed = session.call(lambda a: a.subscriptions_remove(url))
    except AuthFailed:
        return "credentials-refused"
    checkpoints_update(merchant=merchant, integration=integration, webhooks={
        "ok": False, "checked_at": _iso(timezone.now()), "topics": [], "missing": [], "url": url or "",
        "reason": "the store is disconnected"})
    return f"removed {removed}"


def integration_poll_schedule(*, merchant: Merchant, integration: Integration) -> datetime:
    """When this integration is polled next: its channel's interval, jittered ±20% so many stores
    connected at once spread out."""
    package = channel_packages.get(integration.channel)
    interval = float(getattr(getattr(package, "adapter", None), "poll_interval_seconds", DEFAULT_POLL_SECONDS))
    when = timezone.now() + timedelta(seconds=interval * random.uniform(1 - POLL_JITTER, 1 + POLL_JITTER))  # noqa: S311
    checkpoints_update(merchant=merchant, integration=integration, next_poll_at=_iso(when))
    return when


def integrations_due_for_poll(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """(merchant id, integration id) of active integrations whose next poll is due; the beat fan-out
    schedules the next one before enqueuing, so a slow poll is not enqueued twice."""
    now = now or timezone.now()
    with unscoped("beat fan-out: integrations due for a poll"):
        rows = list(Integration.objects.filter(status=Integration.Status.ACTIVE)
                    .order_by("id").values_list("merchant_id", "pk", "checkpoints"))
    due = []
    for merchant_id, pk, checkpoints in rows:
        at = _parse((checkpoints or {}).get("next_poll_at"))
        if at is None or at <= now:
            due.append((merchant_id, pk))
    return due


__all__ = ["CONNECT_STEPS", "SYNC_STEPS", "integration_job_run", "integration_poll", "integration_poll_schedule",
           "integration_webhooks_remove",
           "integrations_due_for_poll", "listings_step", "orders_step", "webhook_url", "webhooks_step"]
