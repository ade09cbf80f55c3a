"""What keeps xdist workers apart (tests/conftest.py): each worker its own Redis database, beside the test
database per worker that pytest-django gives."""

from __future__ import annotations

import os

import pytest
from celery import current_app
from django.conf import settings
from django.core.cache import cache

from tests.conftest import redis_url_for_worker


def test_each_worker_gets_the_database_after_the_last_ones():
    assert [redis_url_for_worker("redis://127.0.0.1:6379/8", f"gw{n}") for n in range(3)] == [
        "redis://127.0.0.1:6379/8", "redis://127.0.0.1:6379/9", "redis://127.0.0.1:6379/10"]
    assert redis_url_for_worker("redis://:secret@cache:6380", "gw2") == "redis://:secret@cache:6380/2"


def test_a_worker_past_the_last_database_is_a_clear_error_not_a_shared_one():
    with pytest.raises(pytest.UsageError, match="Redis database 16"):
        redis_url_for_worker("redis://127.0.0.1:6379/15", "gw1")


@pytest.mark.redis
def test_this_worker_talks_to_its_own_database_everywhere():
    """The cache, the broker and any worker process a test starts (it inherits the environment) all use the
    URL tests/conftest.py chose for this xdist worker."""
    assert os.environ["REDIS_URL"] == settings.REDIS_URL == settings.CELERY_BROKER_URL
    assert current_app.conf.broker_url == settings.REDIS_URL
    assert cache._cache._servers == [settings.REDIS_URL]
