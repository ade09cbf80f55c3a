"""A first backfill too big to page: the channel exports the window's orders as one file (the adapter's
optional `bulk_export_*` capability, integrations/channels/base.py), we wait for it, then stream the file
into orders_page_ingest in pages, with a checkpoint after each page.

Why: paging is bounded by the channel's rate budget, not by us (hours for a store with a long history);
an export is not. When: the orders step's first backfill (no orders checkpoint yet) of an adapter that
supports it, when the adapter counts more than BULK_BACKFILL_THRESHOLD orders in the window.

Waiting: the channel calls our webhook when the export finishes (`bulk_export_finished`, called by the
channel's receiver through the webhook inbox, records it in the checkpoints) and we also ask the channel
every BULK_POLL_SECONDS; the step wakes every BULK_WAKE_SECONDS to look at the checkpoints.

Checkpoints (`orders_bulk`): the export's id, the window, the byte offset where the next unread order
starts, how many orders were read and the last one. A run that crashes or is retried continues the same
export at that offset (re-reading at most one page: ingest is idempotent). An export that failed, was
cancelled or expired (its file's URL lapsed) leaves the checkpoint and the backfill pages instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import Merchant
from core.http import Transient
from integrations.channels.base import BulkExport, BulkFileGone
from integrations.models import Integration
from integrations.sync.common import ChannelSession, checkpoints_update
from jobs.models import WorkerJob
from jobs.services import job_progress
from orders.normalized import NormalizedOrder

logger = logging.getLogger("integrations.sync")

PAGE_SIZE = 250
FINISHED_KEY = "orders_bulk_finished"
# How the step waits; tests replace it to deliver a webhook or move a clock while the step waits.
bulk_sleep: Callable[[float], None] = time.sleep
bulk_clock: Callable[[], float] = time.monotonic


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def bulk_export_finished(*, merchant: Merchant, integration: Integration, export_id: str, state: str) -> dict:
    """The channel says an export finished (its webhook): recorded for the orders step that waits on it.
    A finish for an export we are not waiting on (an old one, another app's) is noted and changes nothing."""
    waiting = (integration.checkpoints or {}).get("orders_bulk") or {}
    if waiting.get("id") != export_id:
        return {"action": "bulk-finish-ignored", "export_id": export_id}
    checkpoints_update(merchant=merchant, integration=integration,
                       **{FINISHED_KEY: {"id": export_id, "state": state, "at": _iso(timezone.now())}})
    return {"action": "bulk-finished", "export_id": export_id, "state": state}


def _finished_by_webhook(merchant: Merchant, integration: Integration, export_id: str) -> bool:
    stored = Integration.objects.filter(merchant=merchant, pk=integration.pk).values_list("checkpoints", flat=True).first()
    finished = (stored or {}).get(FINISHED_KEY) or {}
    return finished.get("id") == export_id


def _wait(*, merchant: Merchant, integration: Integration, session: ChannelSession, export_id: str) -> BulkExport:
    """Until the export is finished: the webhook's record (then one status call for the file's URL) or the
    channel's answer to a poll, whichever comes first. Past BULK_WAIT_SECONDS the run gives up for now
    (Transient: the job retries and waits on the same export)."""
    wake = _setting("BULK_WAKE_SECONDS", 1.0)
    poll = _setting("BULK_POLL_SECONDS", 10.0)
    give_up = bulk_clock() + _setting("BULK_WAIT_SECONDS", 6 * 3600.0)
    polled_at: float | None = None
    while True:
        now = bulk_clock()
        if _finished_by_webhook(merchant, integration, export_id) or polled_at is None or now - polled_at >= poll:
            polled_at = now
            export = session.call(lambda a: a.bulk_export_status(export_id))
            if export.finished:
                return export
        if now >= give_up:
            raise Transient(f"the channel's export {export_id} has not finished yet")
        bulk_sleep(wake)


def orders_bulk(*, merchant: Merchant, integration: Integration, session: ChannelSession, since: datetime,
                ingest: Callable[..., tuple[datetime | None, list[str]]], job: WorkerJob | None = None,
                ) -> dict[str, Any] | None:
    """The backfill by export, or None when it is not for this run (no capability, a small window, an
    export the channel refused or that ended without a file): the caller then pages, from `since`."""
    adapter = session.adapter
    if not getattr(adapter, "supports_bulk_export", False):
        return None
    state = dict(integration.checkpoints.get("orders_bulk") or {})
    if not state:
        threshold = int(_setting("BULK_BACKFILL_THRESHOLD", 2000))
        count = session.call(lambda a: a.orders_count(since))
        if count is None or count <= threshold:
            return None
        from integrations.sync.connect import webhook_url  # the orders step's module imports this one

        export = session.call(lambda a: a.bulk_export_start(since, webhook_url(integration)))
        if export.state not in ("running", "completed"):
            checkpoints_update(merchant=merchant, integration=integration, orders_bulk_fallback={
                "id": export.id, "state": export.state, "error": export.error, "at": _iso(timezone.now())})
            return None
        state = {"id": export.id, "since": _iso(since), "offset": 0, "done": 0, "last": "", "total": count}
        checkpoints_update(merchant=merchant, integration=integration, orders_bulk=state, **{FINISHED_KEY: None})
        logger.info("integrations.sync.bulk_started", extra={"merchant_id": merchant.pk,
                                                             "integration_id": integration.pk, "orders": count})
    export = _wait(merchant=merchant, integration=integration, session=session, export_id=state["id"])
    if export.state != "completed":
        checkpoints_update(merchant=merchant, integration=integration, orders_bulk=None, **{FINISHED_KEY: None},
                           orders_bulk_fallback={"id": export.id, "state": export.state, "error": export.error,
                                                 "read": state.get("done", 0), "at": _iso(timezone.now())})
        logger.warning("integrations.sync.bulk_fallback", extra={
            "merchant_id": merchant.pk, "integration_id": integration.pk, "state": export.state})
        return None
    try:
        return _read(merchant=merchant, integration=integration, session=session, export=export, state=state,
                     ingest=ingest, job=job)
    except BulkFileGone:
        export = session.call(lambda a: a.bulk_export_status(state["id"]))
        if export.state == "completed":  # the URL failed once but the export stands: the job retries it
            raise Transient("the export's file could not be read; retrying") from None
        state = dict(integration.checkpoints.get("orders_bulk") or state)
        checkpoints_update(merchant=merchant, integration=integration, orders_bulk=None, **{FINISHED_KEY: None},
                           orders_bulk_fallback={"id": export.id, "state": export.state, "error": export.error,
                                                 "read": state.get("done", 0), "at": _iso(timezone.now())})
        return None


def _read(*, merchant: Merchant, integration: Integration, session: ChannelSession, export: BulkExport,
          state: dict, ingest: Callable[..., tuple[datetime | None, list[str]]], job: WorkerJob | None) -> dict:
    """Stream the file from the checkpoint's offset in pages of PAGE_SIZE; after each page its offset,
    count and newest update are saved. Only the page being filled is held."""
    newest_text = integration.checkpoints.get("orders_updated_at")
    newest = datetime.fromisoformat(newest_text) if newest_text else None
    done = int(state.get("done") or 0)
    refused = 0
    page: list[NormalizedOrder] = []
    offset = int(state.get("offset") or 0)

    def flush(resume_offset: int) -> None:
        nonlocal newest, done, refused, page
        page_newest, page_refused = ingest(merchant=merchant, integration=integration, items=page)
        refused += len(page_refused)
        if page_newest is not None and (newest is None or page_newest > newest):
            newest = page_newest
        done += len(page)
        state.update(offset=resume_offset, done=done, last=page[-1].external_id)
        changes: dict[str, Any] = {"orders_bulk": dict(state)}
        if newest is not None:
            changes["orders_updated_at"] = _iso(newest)
        checkpoints_update(merchant=merchant, integration=integration, **changes)
        now = timezone.now()
        Integration.objects.filter(merchant=merchant, pk=integration.pk).update(last_order_seen_at=now)
        integration.last_order_seen_at = now
        if job is not None:
            job_progress(job=job, done=done, total=state.get("total"))
        page = []

    resume_offset = offset
    for item in session.adapter.bulk_export_orders(export, offset):
        page.append(item.order)
        resume_offset = item.resume_offset
        if len(page) >= PAGE_SIZE:
            flush(resume_offset)
    if page:
        flush(resume_offset)
    checkpoints_update(merchant=merchant, integration=integration, orders_bulk=None, **{FINISHED_KEY: None},
                       orders_bulk_done={"id": export.id, "orders": done, "at": _iso(timezone.now())})
    return {"orders": done, "orders_refused": refused, "orders_by": "bulk"}


__all__ = ["bulk_export_finished", "orders_bulk"]
