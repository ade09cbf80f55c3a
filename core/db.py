"""Transactions that survive a deadlock or a serialization failure.

Locks taken in id order keep our own services from deadlocking one another, but PostgreSQL may still
pick a transaction as a deadlock victim (40P01) against another writer, or abort one under
serializable isolation (40001). Both mean "nothing was written; run it again". `retry_transaction`
does that for a whole outermost transaction, a bounded number of times with jittered backoff; when the
attempts run out it raises `TransientConflict` (503 with Retry-After), so the error reaches a client in
the error shape and never as a 500.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import psycopg
from django.db import DatabaseError, connection, transaction
from django.db.backends.utils import CursorWrapper

from core.backoff import backoff_delay
from core.errors import TransientConflict

logger = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
LOCK_NOT_AVAILABLE = "55P03"  # a NOWAIT lock found the row locked: the caller chose not to wait, not retried here
ATTEMPTS = 5
BASE_DELAY = 0.02  # seconds: core.backoff's full jitter on a database scale, capped at MAX_DELAY
MAX_DELAY = 0.5

P = ParamSpec("P")
R = TypeVar("R")


def has_sqlstate(exc: BaseException, sqlstates: frozenset[str]) -> bool:
    """True when PostgreSQL raised one of these SQLSTATEs, however Django wrapped the error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "sqlstate", None) in sqlstates:
            return True
        current = current.__cause__ or current.__context__
    return False


def is_retryable(exc: BaseException) -> bool:
    """True for a deadlock or serialization failure from PostgreSQL, however Django wrapped it."""
    return has_sqlstate(exc, RETRYABLE_SQLSTATES)


def is_lock_not_available(exc: BaseException) -> bool:
    """True when a NOWAIT lock (`select_for_update(nowait=True)`) found a row locked by someone else."""
    return has_sqlstate(exc, frozenset({LOCK_NOT_AVAILABLE}))


def retry_transaction(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` in `transaction.atomic()`; if it is the outermost transaction, retry it on a deadlock or
    serialization failure (at most ATTEMPTS runs, jittered exponential backoff).

    Inside a caller's transaction it is a plain savepoint: a failed statement has aborted the outer
    transaction too, so only the outermost retrying block can run the work again.
    `fn` must be safe to run again: it reads what it needs under its own locks (our services do).
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.in_atomic_block:
            with transaction.atomic():
                return fn(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return fn(*args, **kwargs)
            except DatabaseError as exc:
                if not is_retryable(exc):
                    raise
                if attempt == ATTEMPTS:
                    logger.error("core.db.retry.exhausted", extra={"function": fn.__qualname__, "attempts": attempt})
                    raise TransientConflict(details={"attempts": attempt}) from exc
                logger.warning("core.db.retry", extra={"function": fn.__qualname__, "attempt": attempt,
                                                       "sqlstate": getattr(exc.__cause__, "sqlstate", "")})
                time.sleep(backoff_delay(attempt, base=BASE_DELAY, cap=MAX_DELAY))  # the one backoff policy
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper



class _PreparingCursor(psycopg.Cursor):
    """psycopg's server-binding cursor whose every `execute` is a prepared statement. Django turns psycopg's
    preparing off for the connection (prepare_threshold None, which overrides prepare=True); it is on for the
    duration of these statements only, so no other cursor of the connection starts preparing (or counting)."""

    def execute(self, query, params=None, *, prepare=True, binary=None):
        conn = self.connection
        threshold, conn.prepare_threshold = conn.prepare_threshold, conn.prepare_threshold or 2**31 - 1
        try:
            return super().execute(query, params, prepare=prepare, binary=binary)
        finally:
            conn.prepare_threshold = threshold


def prepared_cursor() -> CursorWrapper:
    """A cursor for the few statements a hot path runs on every request (the webhook receipt's lookup and
    INSERT): on PostgreSQL its statements are bound server-side and prepared once per connection, so the
    server neither parses a 7 KB body written out as a literal nor plans the same join again each time
    (0.24 ms of the backend's CPU per INSERT, 0.18 ms per lookup; BENCHMARKS.md "Webhook inbox"). Django's
    own cursors bind client-side and prepare nothing (its default, for connection poolers; none runs in
    front of this database). Elsewhere (SQLite) an ordinary cursor. Wrapped as Django wraps its own, so
    query counting, execute wrappers and error translation are unchanged. For statements that read no
    timestamps (Django registers its time-zone loader on its own cursors only)."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_PreparingCursor(connection.connection))  # noqa: SLF001
