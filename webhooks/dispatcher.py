"""The webhook dispatcher: `manage.py webhook_dispatcher`, one long-running process beside the workers.

The receive path publishes nothing (WEBHOOK_DISPATCH=dispatcher, webhooks.services): it INSERTs the event,
and the INSERT's trigger issues `NOTIFY webhook_events` in that transaction. This process LISTENs on its own
connection, wakes when such a commit lands, and runs `webhook_events_dispatch` until nothing is due: rows
claimed in batches with FOR UPDATE SKIP LOCKED and handed to the workers a few per task. So a delivery is on
a worker's queue within milliseconds of its 200, and the web process spends no CPU on the broker.

What it does not have to be: the only way events move. It holds nothing in memory (the rows are the queue),
so killing it loses nothing; beat's `webhooks.events_dispatch` every 30 s hands out whatever it left, and
when it starts again it dispatches everything due before it waits. Two dispatchers may run (a rolling
deploy): SKIP LOCKED and the dispatch lease keep them from handing out one event twice. Without LISTEN (not
PostgreSQL) it polls every `poll_seconds` instead. It writes a heartbeat that `manage.py doctor` reads.
"""

from __future__ import annotations

import copy
import logging
import threading
import time

from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections
from django.db.utils import DatabaseError, InterfaceError

from core.ops_checks import DISPATCHER_HEARTBEAT_SECONDS, dispatcher_heartbeat
from webhooks.services import NOTIFY_CHANNEL, webhook_events_dispatch

logger = logging.getLogger(__name__)

RECONNECT_SECONDS = (1, 2, 5, 10, 30)  # after a lost database connection: back off, never give up


class WebhookDispatcher:
    """`run()` until `stop` is set: LISTEN (PostgreSQL) or poll, and dispatch everything due on each wake-up.

    `poll_seconds` bounds every wait: due retries and leases that ran out are found at least that often
    even when nothing is delivered, and a stop is seen within it. `batch` rows are claimed per statement."""

    def __init__(self, *, batch: int = 500, poll_seconds: float = 5.0, stop: threading.Event | None = None):
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.stop = stop or threading.Event()
        self.dispatched = 0
        self.wakeups = 0
        self._beat_at = 0.0

    def run(self) -> None:
        failures = 0
        while not self.stop.is_set():
            listener = None
            try:
                listener = self._listen()
                failures = 0
                self.tick()  # what was delivered while no dispatcher listened
                while not self.stop.is_set():
                    self._wait(listener)
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
        connection.close()  # this thread's own connection (the claims)
        logger.info("webhooks.dispatcher.stopped", extra={"dispatched": self.dispatched})

    def tick(self) -> int:
        """Dispatch until fewer than a batch was due; returns how many events were claimed."""
        close_old_connections()  # CONN_MAX_AGE and a broken connection, as a request would
        claimed = 0
        while not self.stop.is_set():
            count = webhook_events_dispatch(limit=self.batch)
            claimed += count
            if count < self.batch:
                break
        self.dispatched += claimed
        now = time.monotonic()
        if now - self._beat_at >= DISPATCHER_HEARTBEAT_SECONDS:
            self._beat_at = now
            try:
                dispatcher_heartbeat()
            except Exception:  # noqa: BLE001 - a cache outage must not stop the dispatching
                logger.warning("webhooks.dispatcher.heartbeat_failed", exc_info=True)
        return claimed

    def _listen(self):
        """A connection of its own in autocommit, LISTENing; None when the database has no LISTEN."""
        if connection.vendor != "postgresql":
            logger.info("webhooks.dispatcher.polling", extra={"every_seconds": self.poll_seconds})
            return None
        default = connections[DEFAULT_DB_ALIAS]
        wrapper = type(default)(copy.deepcopy(default.settings_dict), alias=DEFAULT_DB_ALIAS)
        wrapper.ensure_connection()
        raw = wrapper.connection
        raw.autocommit = True
        raw.execute(f"LISTEN {NOTIFY_CHANNEL}")
        logger.info("webhooks.dispatcher.listening", extra={"channel": NOTIFY_CHANNEL})
        return wrapper

    def _wait(self, listener) -> None:
        """Until a NOTIFY arrives or `poll_seconds` pass (in slices of a second, so a stop is seen at once);
        then every notification already queued is consumed, before the claim, so one claim answers a burst
        (a NOTIFY arriving after it wakes us again)."""
        if listener is None:
            self.stop.wait(self.poll_seconds)
            return
        raw = listener.connection
        deadline = time.monotonic() + self.poll_seconds
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if any(True for _ in raw.notifies(timeout=min(1.0, left), stop_after=1)):
                break
        else:
            return
        self.wakeups += 1
        for _ in raw.notifies(timeout=0.0):
            pass
