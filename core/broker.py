"""The Celery broker transport: kombu's Redis transport, with one redis-py client per channel.

kombu's Redis channel builds a new `redis.Redis` for every command it sends outside its consumer loop
(`Channel.conn_or_acquire`), publishing included; constructing one (its ~170 response callbacks) cost
more CPU than the LPUSH itself, on every task a web request enqueues (BENCHMARKS.md, "Webhook inbox").
A `redis.Redis` over a connection pool keeps no per-command state (each command borrows a connection
from the pool), so one per channel is as safe as one per command; it is rebuilt when the channel
replaces its pool (after a connection error), so it never outlives the pool it was built on.

Selected by CELERY_BROKER_TRANSPORT when the broker is Redis (config/settings.py); workers use it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _reused_client = None

    @contextmanager
    def conn_or_acquire(self, client=None) -> Iterator:
        if client:
            yield client
            return
        pool = self.pool
        reused = self._reused_client
        if reused is None or reused.connection_pool is not pool:
            reused = self._reused_client = self._create_client()
        yield reused


class Transport(kombu_redis.Transport):
    Channel = Channel
