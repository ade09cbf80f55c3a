"""Reads of the webhook inbox: the filtered list (keyset pages), one event, its body as a person or a
client can read it, and the last 24 hours per integration. The API and the dashboard share all of it."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, FilteredRelation, Q, QuerySet
from django.utils import timezone

from accounts.models import Merchant
from core.errors import NotFound, ValidationFailed
from core.pagination import KeysetPage, keyset_page
from core.parsing import DateRange, optional_id, optional_text, parse_id
from integrations.models import Integration
from webhooks.models import WebhookEvent

Status = WebhookEvent.Status
TOPIC_MAX = 128  # WebhookEvent.topic's max_length
LIST_KEYS = ("-received_at", "-pk")
COUNTS_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class WebhookEventFilters:
    status: str = ""
    topic: str = ""
    integration: int | None = None
    received_from: date | None = None
    received_to: date | None = None  # inclusive, a day of the merchant's zone

    @classmethod
    def from_params(cls, params: Any) -> WebhookEventFilters:
        """Parse query parameters or a bulk-replay body; a bad value is a 400, never a silent 'all'."""
        status = optional_text(params, "status")
        if status and status not in Status.values:
            raise ValidationFailed("Unknown status.", details={"field": "status", "allowed": Status.values})
        received = DateRange.from_params(params, start=("received_from", "from"), end=("received_to", "to"),
                                         default_days=None, max_days=None)
        return cls(status=status, topic=optional_text(params, "topic", max_length=TOPIC_MAX),
                   integration=optional_id(params, "integration"), received_from=received.start,
                   received_to=received.end)

    def as_query(self) -> dict[str, str]:
        """The filters as query parameters, for links that keep them (pager, bulk replay)."""
        return {f.name: str(getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) not in (None, "")}


def webhook_event_filter(*, merchant: Merchant, filters: WebhookEventFilters) -> QuerySet[WebhookEvent]:
    """The filtered events without their bodies: for lists, counts and bulk replay."""
    qs = WebhookEvent.objects.filter(merchant=merchant).defer("body")
    f = filters
    if f.status:
        qs = qs.filter(status=f.status)
    if f.topic:
        qs = qs.filter(topic=f.topic)
    if f.integration is not None:
        qs = qs.filter(integration_id=f.integration)
    return DateRange(f.received_from, f.received_to, tz=merchant.timezone).filter(qs, "received_at")


def webhook_event_list(*, merchant: Merchant, filters: WebhookEventFilters | None = None) -> QuerySet[WebhookEvent]:
    """Newest received first (webhooks_event_list_idx), with the integration's name in the same query."""
    qs = webhook_event_filter(merchant=merchant, filters=filters or WebhookEventFilters())
    return qs.select_related("integration").order_by(*LIST_KEYS)


def webhook_event_page(qs: QuerySet[WebhookEvent], *, after: str = "", size: int = 50) -> KeysetPage:
    """A keyset page of the list (no OFFSET); a bad cursor is a 400."""
    return keyset_page(qs, order=LIST_KEYS, after=after, size=size)


def webhook_event_get(*, merchant: Merchant, pk: int | str) -> WebhookEvent:
    """One event with its body; another merchant's id, or anything that is not an id, is not found."""
    try:
        pk = parse_id(pk, field="id")
        return WebhookEvent.objects.select_related("integration").get(merchant=merchant, pk=pk)
    except (ValidationFailed, WebhookEvent.DoesNotExist):
        raise NotFound("Webhook event not found.")


@dataclass(frozen=True)
class EventBody:
    """The raw body as it can be shown: text when it is UTF-8, else base64; nothing once pruned."""

    encoding: str | None  # "utf-8", "base64", or None when there is no body
    text: str | None
    pretty: str | None  # indented JSON when the text is JSON, else the text
    size: int
    is_pruned: bool


def webhook_event_body(event: WebhookEvent) -> EventBody:
    raw = event.body
    if raw is None:
        return EventBody(encoding=None, text=None, pretty=None, size=0, is_pruned=event.body_pruned_at is not None)
    raw = bytes(raw)  # PostgreSQL gives a memoryview
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        encoded = base64.b64encode(raw).decode()
        return EventBody(encoding="base64", text=encoded, pretty=encoded, size=len(raw), is_pruned=False)
    try:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:  # stored because it was signed, even if it is not JSON (status failed)
        pretty = text
    return EventBody(encoding="utf-8", text=text, pretty=pretty, size=len(raw), is_pruned=False)


def webhook_event_result_text(event: WebhookEvent) -> str:
    """What processing recorded, as indented JSON ("" when nothing yet)."""
    return json.dumps(event.result, indent=2, ensure_ascii=False, sort_keys=True) if event.result else ""


def webhook_event_counts(*, merchant: Merchant, now: datetime | None = None) -> list[Integration]:
    """Each integration of the merchant with the events it received in the last 24 hours: how many, and how
    many of those are now processed, failed and dead. One grouped query, whatever the number of events;
    integrations with no event show zeros."""
    since = (now or timezone.now()) - COUNTS_WINDOW

    def of(status: str) -> Count:
        return Count("recent", filter=Q(recent__status=status))

    # The window is in the join's ON clause (FilteredRelation), not only in the counts' FILTER, so only
    # the last 24 hours of each store's events are read, through the index, however long retention is.
    return list(
        Integration.objects.filter(merchant=merchant).only("id", "name", "channel", "status")
        .annotate(recent=FilteredRelation("webhook_events", condition=Q(webhook_events__received_at__gte=since,
                                                                        webhook_events__merchant=merchant)))
        .annotate(received_24h=Count("recent"), processed_24h=of(Status.PROCESSED),
                  failed_24h=of(Status.FAILED), dead_24h=of(Status.DEAD))
        .order_by("name", "pk")
    )
