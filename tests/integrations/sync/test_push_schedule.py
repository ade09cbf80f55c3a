"""The debounced stock push is sent through core.enqueue like every other task: a broker that is down is
logged there and left to the beat fan-out, never raised into the stock change that scheduled it."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache

from config.celery import app
from integrations.sync.stock import DEBOUNCE_KEY, stock_push_schedule

CLOSED_PORT = "redis://127.0.0.1:9/0"  # the discard port: nothing listens, the connection is refused


@pytest.fixture
def broker_down():
    # The producer pool holds connections of the pool it was made with: a fresh one dials the closed port.
    saved = (app.conf.broker_url, app.conf.task_always_eager, app._pool, app.conf.broker_connection_retry,
             app.amqp._producer_pool)
    app.conf.broker_url, app.conf.task_always_eager, app._pool = CLOSED_PORT, False, None
    app.conf.broker_connection_retry, app.amqp._producer_pool = False, None
    try:
        yield
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        (app.conf.broker_url, app.conf.task_always_eager, app._pool, app.conf.broker_connection_retry,
         app.amqp._producer_pool) = saved


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_push_scheduled_with_the_broker_down_is_logged_by_core_enqueue_not_raised(broker_down):
    cache.delete(DEBOUNCE_KEY.format(merchant_id=424242))
    logger, records = logging.getLogger("core.enqueue"), _Records()
    logger.addHandler(records)  # on the logger itself: another test's logging set-up may stop propagation
    # ... or disable the logger or raise its level (a dictConfig run by an in-process Celery set-up)
    saved_state = (logger.disabled, logger.level)
    logger.disabled = False
    logger.setLevel(logging.DEBUG)
    try:
        first = stock_push_schedule(424242)
        second = stock_push_schedule(424242)  # debounced: the first one's key stands
    finally:
        logger.removeHandler(records)
        logger.disabled, logger.level = saved_state
        cache.delete(DEBOUNCE_KEY.format(merchant_id=424242))
    assert (first, second) == (True, False)
    assert records.messages == ["core.enqueue.send_failed"]
