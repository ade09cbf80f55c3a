"""Claiming due outbox rows: one helper for every consumer (tracking, availability, the webhook
inbox, channel pushes).

A claim is one short transaction: `SELECT ... FOR UPDATE SKIP LOCKED` picks due rows no other
worker is claiming, and their due column is moved a lease ahead before commit. The work itself
(an HTTP call, an allocation run) then happens outside any transaction, and no other claimer
sees those rows until the lease runs out, which is also how a crashed worker's rows come back.
The consumer then marks each row done, or schedules it again with core.backoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

M = TypeVar("M", bound=models.Model)

DEFAULT_LEASE = timedelta(minutes=5)


def claim_due(
    queryset: QuerySet[M],
    *,
    limit: int,
    due_field: str = "next_attempt_at",
    order_by: Sequence[str] = ("pk",),
    lease: timedelta = DEFAULT_LEASE,
    updates: dict[str, Any] | None = None,
    now: datetime | None = None,
    due_by: datetime | None = None,
) -> list[M]:
    """Claim up to `limit` rows of `queryset` whose `due_field` is empty or past, oldest first.

    Two claimers running at the same time never get the same row. `updates` are applied to the
    claimed rows in the same statement (e.g. `{"attempts": F("attempts") + 1}`, so a worker that
    dies mid-push still counts an attempt). `due_by` (default `now`) takes rows due up to then, a lease that
    has not run out included; the new lease still runs from `now`. Returns the rows as they are after the claim.
    """
    if limit <= 0:
        return []
    now = now or timezone.now()
    due = Q(**{f"{due_field}__isnull": True}) | Q(**{f"{due_field}__lte": due_by or now})
    with transaction.atomic():
        ids = list(
            queryset.filter(due)
            .order_by(*order_by)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        queryset.order_by().filter(pk__in=ids).update(**{due_field: now + lease, **(updates or {})})
    return list(queryset.filter(pk__in=ids).order_by(*order_by))
