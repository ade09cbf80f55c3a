"""The webhook dispatcher: `manage.py webhook_dispatcher`, one long-running process beside the workers.

The receive path publishes nothing (WEBHOOK_DISPATCH=dispatcher, webhooks.services): it INSERTs the event a
dispatch lease ahead, and that is all. This process reads the new rows by id on its own connection every
`scan_seconds` (0.1 s: `id > the last id seen`, an index range read of the primary key) and hands the
`received` ones to the workers: one task per merchant and a few events (`webhook_events_hand_over`). It claims
nothing for that: the row's lease is its claim. So a delivery is on a worker's queue within a few tenths of a
second of its 200, and neither the web process nor the database spends anything per event on the hand-over.
It used to LISTEN for a NOTIFY the INSERT's trigger sent (migrations 0004-0005, dropped in 0006): that cost the
request's transaction the notification (~70 µs of its backend's CPU, and PostgreSQL serializes the commits of
notifying transactions) and the dispatcher's backend a wake-up per delivery (BENCHMARKS.md "Webhook inbox").

Ids are taken from a sequence when the INSERT runs, but rows become visible when they commit, not always in that
order: an id skipped by a scan (a row still being committed, or one never to be: a rolled-back INSERT, the loser
of two copies of one delivery racing into the unique constraint) is looked at again on every scan for
`gap_seconds` (10 s; an autocommit INSERT commits within milliseconds of taking its id, before its 200), then given
up; a row committed later than that is still handed out by the sweep once its lease runs out. At most GAPS_MAX
ids are looked for, the oldest given up first. A re-sent delivery takes no id (receipt's INSERT checks NOT EXISTS
before the sequence is asked: webhooks.services._event_insert), so a storm of duplicates cannot push a real row's
id out of that window and leave it to the sweep a lease later (tests/webhooks/test_dispatcher.py).

What it does not have to be: the only way events move. It holds nothing that is not in the rows, so killing it
loses nothing: when it starts reading it hands out every `received` event first (those delivered while no
dispatcher read them), and beat's `webhooks.events_dispatch` every 30 s hands out whatever is past its lease.
Every `poll_seconds` it runs that sweep itself (retries that came due, leases that ran out). Two dispatchers
may run (a rolling deploy): one holds a session advisory lock and reads the new rows; the other only sweeps
(SKIP LOCKED keeps the sweeps apart) and takes over the moment the first one's connection ends. Not on
PostgreSQL (use WEBHOOK_DISPATCH=inline there) it only sweeps. It writes a heartbeat that `manage.py doctor`
reads.
"""

from __future__ import annotations

import copy
import logging
import threading
import time

import psycopg
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections
from django.db.utils import DatabaseError, InterfaceError
from django.utils import timezone

from core.ops_checks import DISPATCHER_HEARTBEAT_SECONDS, dispatcher_heartbeat
from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_dispatch, webhook_events_hand_over

logger = logging.getLogger(__name__)

RECONNECT_SECONDS = (1, 2, 5, 10, 30)  # after a lost database connection: back off, never give up
LEADER_LOCK = 0x5753_4450  # pg_try_advisory_lock key ("WSDP"): the one dispatcher that reads the new rows
GAPS_MAX = 10_000  # skipped ids looked at again (the oldest are given up first: the sweep finds them)


class NewRows:
    """The scan of the event table by id, on the leader's own connection (`WebhookDispatcher._lead`): `read()`
    returns the (event id, merchant id) of the `received` rows committed since the last call, each once.

    `last` is the highest id seen; `gaps` the ids below it not seen yet (id -> when first missed), asked for by id
    on every read until found or `gap_seconds` old. Starting (`start`): `last` is the highest id committed, and
    the ids missing among the `START_WINDOW` below it are gaps (rows in flight then: the start-up pass of every
    `received` row, which runs next, may hand one of those out too; the worker's claim makes that a no-op)."""

    START_WINDOW = 256

    def __init__(self, raw, *, batch: int, gap_seconds: float, gaps_max: int = GAPS_MAX):
        self.raw, self.batch, self.gap_seconds, self.gaps_max = raw, batch, gap_seconds, gaps_max
        self.cursor = psycopg.Cursor(raw)  # server-side binding, so prepared (Django's cursors bind client-side)
        table, quote = WebhookEvent._meta.db_table, connection.ops.quote_name
        columns = "id, merchant_id, status"
        self.sql = (f"SELECT {columns} FROM {quote(table)} WHERE id = ANY(%s::bigint[]) UNION ALL "  # noqa: S608
                    f"(SELECT {columns} FROM {quote(table)} WHERE id > %s ORDER BY id LIMIT %s)")
        self.table = quote(table)
        self.last = 0
        self.gaps: dict[int, float] = {}

    def start(self) -> None:
        top = self.raw.execute(f"SELECT coalesce(max(id), 0) FROM {self.table}").fetchone()[0]  # noqa: S608
        seen = {row[0] for row in self.raw.execute(f"SELECT id FROM {self.table} WHERE id > %s",  # noqa: S608
                                                   [top - self.START_WINDOW])}
        now = time.monotonic()
        self.last = top
        self.gaps = {i: now for i in range(max(0, top - self.START_WINDOW) + 1, top + 1) if i not in seen}

    def read(self) -> tuple[list[tuple[int, int]], bool]:
        """The new `received` rows, and whether there may be more (a whole batch was read)."""
        rows = self.cursor.execute(self.sql, [list(self.gaps), self.last, self.batch], prepare=True).fetchall()
        now = time.monotonic()
        events, newest, new = [], self.last, 0
        for event_id, merchant_id, status in rows:
            if event_id > self.last:
                newest, new = max(newest, event_id), new + 1
            else:
                self.gaps.pop(event_id, None)
            if status == WebhookEvent.Status.RECEIVED:
                events.append((event_id, merchant_id))
        if newest > self.last:
            found = {row[0] for row in rows}
            # At most gaps_max of them (a sequence moved far ahead by hand must not fill the memory).
            self.gaps.update((i, now) for i in range(max(self.last + 1, newest - self.gaps_max), newest)
                             if i not in found)
            self.last = newest
        expired = now - self.gap_seconds
        for event_id in [i for i, since in self.gaps.items() if since < expired]:
            del self.gaps[event_id]
        while len(self.gaps) > self.gaps_max:
            del self.gaps[next(iter(self.gaps))]
        return events, new >= self.batch


class WebhookDispatcher:
    """`run()` until `stop` is set: read the new rows by id every `scan_seconds` (PostgreSQL; `NewRows`) and hand
    the `received` ones over, sweeping what is due at least every `poll_seconds`; a stop is seen within
    `scan_seconds` (a second when only sweeping). `batch` rows are read or claimed per statement; `gap_seconds`
    is how long an id skipped by a scan is looked for again."""

    def __init__(self, *, batch: int = 500, poll_seconds: float = 5.0, scan_seconds: float = 0.1,
                 gap_seconds: float = 10.0, stop: threading.Event | None = None):
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.scan_seconds = scan_seconds
        self.gap_seconds = gap_seconds
        self.stop = stop or threading.Event()
        self.dispatched = 0
        self.scans = 0
        self._beat_at = 0.0
        self._swept_at = 0.0

    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            leader = None
            try:
                leader = self._lead()
                failures = 0
                if leader is None:  # not PostgreSQL, or another dispatcher leads: sweep until that changes
                    self.tick()
                    self.stop.wait(self.poll_seconds)
                    continue
                rows = NewRows(leader.connection, batch=self.batch, gap_seconds=self.gap_seconds)
                rows.start()  # before the start-up pass: what commits after it is a new row or a gap
                self.tick(waiting=True)  # what was delivered while no dispatcher read the new rows
                while not self.stop.is_set():
                    events, more = rows.read()
                    self.scans += 1
                    if events:
                        self.hand_over(events)
                    if time.monotonic() - self._swept_at >= self.poll_seconds:
                        self.tick()
                    if not more:
                        self.stop.wait(self.scan_seconds)
            except (DatabaseError, InterfaceError, OSError, psycopg.Error):
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                logger.warning("webhooks.dispatcher.connection_lost", exc_info=True, extra={"retry_in": delay})
                self.stop.wait(delay)
            finally:
                if leader is not None:
                    try:
                        leader.close()
                    except Exception:  # noqa: BLE001 - a broken connection may fail to close as well
                        logger.debug("webhooks.dispatcher.close_failed", exc_info=True)
        connection.close()  # this thread's own connection (the sweeps)
        logger.info("webhooks.dispatcher.stopped", extra={"dispatched": self.dispatched})

    def tick(self, *, waiting: bool = False) -> int:
        """Sweep until fewer than a batch was due; returns how many events were claimed. `waiting`: every
        `received` event, whatever its lease (webhooks.services.webhook_events_dispatch)."""
        close_old_connections()  # CONN_MAX_AGE and a broken connection, as a request would
        claimed = 0
        since = timezone.now()  # a waiting pass takes what was received before it, each row once
        while not self.stop.is_set():
            count = webhook_events_dispatch(limit=self.batch, waiting=waiting, waiting_since=since)
            claimed += count
            if count < self.batch:
                break
        self.dispatched += claimed
        self._swept_at = time.monotonic()
        self._beat()
        return claimed

    def hand_over(self, events: list[tuple[int, int]]) -> int:
        """The new rows' events, to the workers (a refused hand-over is due again a few seconds later, for the
        sweep)."""
        sent = webhook_events_hand_over(events)
        self.dispatched += len(events)
        self._beat()
        return sent

    def _beat(self) -> None:
        now = time.monotonic()
        if now - self._beat_at >= DISPATCHER_HEARTBEAT_SECONDS:
            self._beat_at = now
            try:
                dispatcher_heartbeat()
            except Exception:  # noqa: BLE001 - a cache outage must not stop the dispatching
                logger.warning("webhooks.dispatcher.heartbeat_failed", exc_info=True)

    def _lead(self):
        """A connection of its own in autocommit, holding the leader lock; None when the database is not
        PostgreSQL or another dispatcher holds the lock (checked again after every sweep)."""
        if connection.vendor != "postgresql":
            logger.info("webhooks.dispatcher.polling", extra={"every_seconds": self.poll_seconds})
            return None
        default = connections[DEFAULT_DB_ALIAS]
        wrapper = type(default)(copy.deepcopy(default.settings_dict), alias=DEFAULT_DB_ALIAS)
        wrapper.ensure_connection()
        raw = wrapper.connection
        raw.autocommit = True
        if not raw.execute("SELECT pg_try_advisory_lock(%s)", [LEADER_LOCK]).fetchone()[0]:
            wrapper.close()
            logger.info("webhooks.dispatcher.standby", extra={"every_seconds": self.poll_seconds})
            return None
        # The server drops this session (and so the lock) ~25 s after its client vanished without closing
        # (a partition, a killed host), not after the kernel's two hours: a standby takes over, and new
        # deliveries do not wait out their lease meanwhile.
        for setting, value in (("tcp_keepalives_idle", 10), ("tcp_keepalives_interval", 5),
                               ("tcp_keepalives_count", 3)):
            raw.execute(f"SET {setting} = {value}")
        raw.prepare_threshold = 5  # Django turns preparing off; NewRows prepares its scan (prepare=True)
        # The scan's one good plan is the primary key's index, whatever the values; planned for the values, with
        # no statistics of the newest ids yet (a table not analyzed since its last burst) PostgreSQL may read the
        # whole table and sort it instead, ten times a second (measured: 1.1 ms against 0.1 ms a scan at 7,000 rows).
        raw.execute("SET plan_cache_mode = force_generic_plan")
        logger.info("webhooks.dispatcher.leading", extra={"every_seconds": self.scan_seconds})
        return wrapper
