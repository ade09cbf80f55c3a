"""The webhook dispatcher: `manage.py webhook_dispatcher`, one long-running process beside the workers.

The receive path publishes nothing (WEBHOOK_DISPATCH=dispatcher, webhooks.services): it INSERTs the event a
dispatch lease ahead, and the INSERT's trigger (migration 0005) issues `NOTIFY webhook_events, '<event id>
<merchant id>'` in that transaction. This process LISTENs on its own connection, wakes when such a commit
lands, gathers what else arrives within `gather_seconds`, and hands the lot to the workers: one task per
merchant and a few events (`webhook_events_hand_over`). It reads nothing and claims nothing for that: the
payload says which events, and the row's lease is its claim. So a delivery is on a worker's queue within
milliseconds of its 200, and neither the web process nor the database spends anything per event on the
broker (the claim it replaces, SELECT ... FOR UPDATE SKIP LOCKED and an UPDATE of every row, cost more CPU
per delivery than the INSERT; BENCHMARKS.md "Webhook inbox").

What it does not have to be: the only way events move. It holds nothing in memory (the rows are the queue), so
killing it loses nothing: when it starts listening it hands out every `received` event first (those whose
NOTIFY went to nobody), and beat's `webhooks.events_dispatch` every 30 s hands out whatever is past its lease.
Every `poll_seconds` it runs that sweep itself (retries that came due, leases that ran out). Two dispatchers
may run (a rolling deploy): one holds a session advisory lock and listens; the other only sweeps (SKIP LOCKED
keeps the sweeps apart) and takes over the moment the first one's connection ends. Without LISTEN (not
PostgreSQL; use WEBHOOK_DISPATCH=inline there) it only sweeps. It writes a heartbeat that `manage.py doctor`
reads.
"""

from __future__ import annotations

import copy
import logging
import threading
import time

from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections
from django.db.utils import DatabaseError, InterfaceError
from django.utils import timezone

from core.ops_checks import DISPATCHER_HEARTBEAT_SECONDS, dispatcher_heartbeat
from webhooks.services import NOTIFY_CHANNEL, webhook_events_dispatch, webhook_events_hand_over

logger = logging.getLogger(__name__)

RECONNECT_SECONDS = (1, 2, 5, 10, 30)  # after a lost database connection: back off, never give up
LEADER_LOCK = 0x5753_4450  # pg_try_advisory_lock key ("WSDP"): the one dispatcher that listens


class WebhookDispatcher:
    """`run()` until `stop` is set: LISTEN (PostgreSQL) and hand over what the NOTIFYs name, sweeping what is
    due at least every `poll_seconds` (and each time a wait ends without a NOTIFY); a stop is seen within a
    second. `batch` rows are claimed per sweep statement; `gather_seconds` is how long a first NOTIFY waits
    for others, so a burst costs one publish per merchant and a few events instead of one each."""

    def __init__(self, *, batch: int = 500, poll_seconds: float = 5.0, gather_seconds: float = 0.05,
                 stop: threading.Event | None = None):
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.gather_seconds = gather_seconds
        self.stop = stop or threading.Event()
        self.dispatched = 0
        self.wakeups = 0
        self._beat_at = 0.0
        self._swept_at = 0.0

    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            listener = None
            try:
                listener = self._listen()
                failures = 0
                if listener is None:  # no LISTEN here, or another dispatcher listens: sweep until that changes
                    self.tick()
                    self.stop.wait(self.poll_seconds)
                    continue
                self.tick(waiting=True)  # what was delivered while no dispatcher listened
                while not self.stop.is_set():
                    events, swept = self._wait(listener)
                    if events:
                        self.hand_over(events)
                    if swept or time.monotonic() - self._swept_at >= self.poll_seconds:
                        self.tick()
            except (DatabaseError, InterfaceError, OSError):
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                logger.warning("webhooks.dispatcher.connection_lost", exc_info=True, extra={"retry_in": delay})
                self.stop.wait(delay)
            finally:
                if listener is not None:
                    try:
                        listener.close()
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
        """The events the NOTIFYs named, to the workers (a refused hand-over is due again a few seconds later,
        for the sweep)."""
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

    def _listen(self):
        """A connection of its own in autocommit, holding the leader lock and LISTENing; None when the database
        has no LISTEN or another dispatcher holds the lock (checked again after every sweep)."""
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
        raw.execute(f"LISTEN {NOTIFY_CHANNEL}")
        logger.info("webhooks.dispatcher.listening", extra={"channel": NOTIFY_CHANNEL})
        return wrapper

    def _wait(self, listener) -> tuple[list[tuple[int, int]], bool]:
        """Until a NOTIFY arrives or `poll_seconds` pass (in slices of a second, so a stop is seen at once); then
        what else arrives within `gather_seconds`. Returns the (event id, merchant id) pairs, and whether to
        sweep (the wait ran out, or a notification named no event: a writer of the table before 0005)."""
        raw = listener.connection
        deadline = time.monotonic() + self.poll_seconds
        first = []
        while not self.stop.is_set() and not first:
            left = deadline - time.monotonic()
            if left <= 0:
                return [], True
            first = list(raw.notifies(timeout=min(1.0, left), stop_after=1))
        if not first:
            return [], False
        self.wakeups += 1
        events: list[tuple[int, int]] = []
        sweep = False
        for notify in (*first, *raw.notifies(timeout=self.gather_seconds, stop_after=self.batch)):
            try:
                event_id, merchant_id = notify.payload.split()
                events.append((int(event_id), int(merchant_id)))
            except ValueError:
                sweep = True
        return events, sweep
