"""The broker transport (core/broker.py): kombu's Redis transport with one redis-py client per channel."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from django.conf import settings
from kombu import Connection

from config.celery import app
from core.broker import Transport

pytestmark = pytest.mark.redis


def test_celery_publishes_through_our_transport_when_the_broker_is_redis():
    assert settings.CELERY_BROKER_TRANSPORT == "core.broker:Transport"
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)


def test_a_channel_reuses_one_client_and_rebuilds_it_with_its_pool():
    with Connection(settings.REDIS_URL, transport=Transport) as connection:
        channel = connection.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second  # kombu's own transport builds a new client for each command
        given = redis.Redis.from_url(settings.REDIS_URL)
        with channel.conn_or_acquire(given) as client:
            assert client is given
        channel._disconnect_pools()  # what kombu does after a connection error
        with channel.conn_or_acquire() as third:
            assert third is not first and third.connection_pool is channel.pool


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")  # send_task always sends
def test_a_task_sent_by_name_reaches_the_queue_a_worker_reads():
    queue = f"test-broker-{id(object())}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        for n in range(3):
            app.send_task("webhooks.event_process", kwargs={"merchant_id": 1, "event_id": n}, queue=queue)
        messages = [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]
        assert [m["headers"]["task"] for m in messages] == ["webhooks.event_process"] * 3
        assert [json.loads(base64.b64decode(m["body"]))[1]["event_id"] for m in messages] == [0, 1, 2]
    finally:
        client.delete(queue)
