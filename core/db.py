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
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, ParamSpec, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Model
from django.utils import timezone

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
    """True for a deadlock or serialization failure from PostgreSQL, however Django wrapped it, or a prepared
    statement gone stale (the transaction's rollback discards the connection's prepared statements)."""
    return has_sqlstate(exc, RETRYABLE_SQLSTATES) or is_stale_prepared(exc)


def is_stale_prepared(exc: BaseException) -> bool:
    """A statement bound_cursor(prepare=True) prepared no longer runs: a migration changed the type of a column
    it returns ("cached plan must not change result type"), or it was deallocated behind psycopg's back."""
    return has_sqlstate(exc, frozenset({"26000"})) or (
        has_sqlstate(exc, frozenset({"0A000"})) and "cached plan must not change result type" in str(exc))


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
    """psycopg's server-binding cursor whose every `execute` is a prepared statement (bound_cursor(prepare=True)).
    Django turns psycopg's preparing off for the connection (prepare_threshold None, which overrides
    prepare=True); it is on for the duration of these statements only, so no other cursor of the connection
    starts preparing."""

    def execute(self, query, params=None, *, prepare=True, binary=None):
        conn = self.connection
        threshold, conn.prepare_threshold = conn.prepare_threshold, conn.prepare_threshold or 2**31 - 1
        try:
            try:
                return super().execute(query, params, prepare=prepare, binary=binary)
            except psycopg.Error as exc:
                # A migration altered a column this statement returns while this connection lived (a rolling
                # deploy): in a transaction, its rollback discards the prepared statements and retry_transaction
                # runs it again (is_retryable); in autocommit (the webhook receipt) they are discarded here and
                # the statement runs once more, prepared anew, instead of failing until the connection is recycled.
                if not is_stale_prepared(exc) or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    raise
                super().execute("DEALLOCATE ALL", prepare=False)  # psycopg forgets its statements with them
                return super().execute(query, params, prepare=prepare, binary=binary)
        finally:
            conn.prepare_threshold = threshold


def bound_cursor(*, prepare: bool = False) -> CursorWrapper:
    """A cursor on the current connection (inside the caller's transaction) whose parameters travel apart from
    the statement (server-side binding); `%b` placeholders (or the SQL through `binary_placeholders`) send
    them in binary. prepare=True: each statement is also prepared once per connection (psycopg keeps them).

    Why: Django's PostgreSQL cursors bind client-side, quoting every parameter into the SQL text, and psycopg
    quotes an array element by element with regular expressions: for a page of orders (arrays of 250 to 750
    strings, numbers, JSON texts) that quoting cost ~30 times what the binary form does, more than the
    statement itself. And the hot paths' statements (a reservation's locking read and write, the webhook
    receipt's lookup and INSERT) are cheap to run and costly to plan: prepared, the server neither parses a
    body written out as a literal nor plans the same join again (BENCHMARKS.md, "Webhook inbox" and the
    reservations). Wrapped as Django wraps its own cursors: errors become Django's DatabaseError, execute
    wrappers run, and the statement is logged when queries are (so django_assert_max_num_queries counts it;
    preparing adds no statement). On SQLite an ordinary cursor (`%b` is PostgreSQL's). For statements that read no timestamps (Django registers
    its time-zone loader on its own cursors only).
    """
    conn = connections[DEFAULT_DB_ALIAS]  # once: each attribute of the `connection` proxy is a thread-local lookup
    if conn.vendor != "postgresql":  # SQLite (make run): an ordinary cursor, for statements written with %s
        return conn.cursor()
    conn.close_if_health_check_failed()
    conn.ensure_connection()
    conn.validate_thread_sharing()
    raw = (_PreparingCursor if prepare else psycopg.Cursor)(conn.connection)
    return _BoundDebugWrapper(raw, conn) if conn.queries_logged else conn.make_cursor(raw)


class _BoundDebugWrapper(CursorDebugWrapper):
    """Logs the statement as written (its `%b` placeholders): Django's log would render it with the parameters
    through a client-side cursor, which knows no `%b` and logs None."""

    def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
        return super().debug_sql(sql, params, use_last_executed_query=False, many=many)


_AUTO_PLACEHOLDER = re.compile(r"(?<!%)%s")


def binary_placeholders(sql: str) -> str:
    """The same statement with its `%s` placeholders as `%b` (binary parameters, for bound_cursor)."""
    return _AUTO_PLACEHOLDER.sub("%b", sql)


# The PostgreSQL array type a model field's values travel in (unnest_insert); text for every string, so that a
# value too long for its varchar column is refused by the INSERT as Django's would be (a cast would cut it).
_ARRAY_TYPES = {
    "AutoField": "int", "BigAutoField": "bigint", "SmallAutoField": "smallint", "BigIntegerField": "bigint",
    "IntegerField": "int", "PositiveIntegerField": "int", "PositiveSmallIntegerField": "smallint",
    "PositiveBigIntegerField": "bigint", "SmallIntegerField": "smallint", "CharField": "text", "TextField": "text",
    "EmailField": "text", "SlugField": "text", "URLField": "text", "DecimalField": "numeric",
    "DateTimeField": "timestamptz", "DateField": "date", "BooleanField": "boolean", "JSONField": "jsonb",
    "UUIDField": "uuid",
}


def unnest_insert(model: type[Model], objs: Sequence[Model]) -> tuple[str, list[Any]]:
    """An `INSERT INTO <table> (...) SELECT ... FROM unnest(<one array per column>)` of these unsaved instances, as
    SQL with `%b` placeholders and its parameters (for bound_cursor; callers may make it one CTE of a statement).

    Why: what Model.objects.bulk_create does, without its per-value compiling and client-side quoting (a page of
    orders spent more in them than PostgreSQL spent on the rows). Rows go in the list's order; the primary key is
    written when every instance has one (ids the caller took from the table's sequence), else the table's own.
    auto_now / auto_now_add fields are set on the instances as save() would; the instances are then marked saved.
    """
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and any(o.pk is None for o in objs))]
    columns, casts, params = [], [], []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            for o in objs:
                setattr(o, f.attname, now)
        internal = (f.target_field if f.is_relation else f).get_internal_type()
        values = list(map(attrgetter(f.attname), objs))  # twice as fast as getattr in a comprehension
        if internal == "JSONField":
            values = [None if v is None else json.dumps(v, cls=f.encoder) for v in values]
        columns.append(connection.ops.quote_name(f.column))
        casts.append(f"%b::{_ARRAY_TYPES[internal]}[]")
        params.append(values)
    names = [f"c{i}" for i in range(len(columns))]
    sql = (f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
           f"SELECT {', '.join(names)} FROM unnest({', '.join(casts)}) WITH ORDINALITY AS v({', '.join(names)}, n) "
           "ORDER BY n")
    for o in objs:
        o._state.adding, o._state.db = False, connection.alias
    return sql, params
