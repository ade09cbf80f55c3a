"""Replay as the API and the dashboard ask for it (one event, or every event a filter matches), over
webhooks.services.webhook_events_replay, which owns what a replay does."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from accounts.models import Merchant
from core.errors import Conflict
from webhooks import selectors, services
from webhooks.models import WebhookEvent

BULK_REPLAY_MAX = 1000  # events per request: one transaction locks them all; call again for more


@dataclass(frozen=True)
class BulkReplay:
    matched: int  # events the filters match
    replayed: int  # queued for processing again
    skipped: int  # taken in this batch but not replayable (body pruned, or a worker is on it now)
    remaining: int  # matched beyond this batch's cap; ask again

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def webhook_events_replay_filtered(*, merchant: Merchant, filters: selectors.WebhookEventFilters,
                                   limit: int | None = None) -> BulkReplay:
    """Replay the events the filters match, oldest first, at most `limit` of them.

    With a status filter (failed, dead) a second call takes the next batch, since replayed events
    are `received` again; without one it would take the same oldest events again, hence `remaining`.
    """
    limit = limit or BULK_REPLAY_MAX
    qs = selectors.webhook_event_filter(merchant=merchant, filters=filters)
    matched = qs.count()
    batch = list(qs.order_by("received_at", "pk").values_list("pk", flat=True)[:limit])
    replayed = services.webhook_events_replay(merchant=merchant, events=WebhookEvent.objects.filter(pk__in=batch))
    return BulkReplay(matched=matched, replayed=replayed, skipped=len(batch) - replayed,
                      remaining=max(0, matched - len(batch)))


def webhook_event_replay(*, merchant: Merchant, event: WebhookEvent) -> None:
    """Queue one event again; a pruned body, or a worker processing it now, is a 409 the caller must hear."""
    if services.webhook_events_replay(merchant=merchant, events=[event]):
        return
    if event.body_pruned_at is not None or event.body is None:
        raise Conflict("This event's body was pruned; there is nothing left to replay.", code="body_pruned",
                       details={"id": event.pk})
    raise Conflict("A worker is processing this event now; replay it once that attempt has finished.",
                   code="in_progress", details={"id": event.pk})
