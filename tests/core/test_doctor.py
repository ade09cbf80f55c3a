"""`manage.py doctor`: every check named with its outcome, exit status 1 when one fails; a secret that no
configured key decrypts, a silent beat and an unreachable broker each named."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.tenancy import tenant_scope
from config.celery import app
from core.ops_checks import beat_heartbeat
from tests.integrations.helpers import make_integration

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def _doctor() -> tuple[dict, str | None]:
    out = StringIO()
    try:
        call_command("doctor", "--json", stdout=out)
        error = None
    except CommandError as exc:
        error = str(exc)
    return json.loads(out.getvalue())["checks"], error


@pytest.fixture
def with_broker(settings):
    """Tasks sent to the Redis broker (as in production) instead of run in-process."""
    saved = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager, app.conf.broker_url = False, settings.REDIS_URL
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield
    app.conf.task_always_eager, app.conf.broker_url = saved


def test_a_secret_no_key_decrypts_is_named_and_fails_the_doctor(merchant_a, settings):
    with tenant_scope(merchant_a.merchant):
        store = make_integration(merchant_a.merchant)
    beat_heartbeat()
    checks, _ = _doctor()
    assert checks["encryption"]["status"] == "ok" and "decrypt" in checks["encryption"]["detail"]
    # When: the key that encrypted the store's credentials is removed (a rotation finished too early)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    checks, error = _doctor()
    assert checks["encryption"]["status"] == "fail"
    assert f"integrations.Integration #{store.pk}" in checks["encryption"]["error"]
    assert "encryption" in error


def test_beat_silent_for_minutes_and_the_broker_down_are_named(settings, with_broker):
    from django.core.cache import cache

    cache.delete("ops:beat:heartbeat")
    checks, error = _doctor()
    assert checks["beat"]["status"] == "fail" and "no heartbeat" in checks["beat"]["error"]
    cache.set("ops:beat:heartbeat", 0.0)
    checks, _ = _doctor()
    assert "minutes ago" in checks["beat"]["error"]
    beat_heartbeat()
    checks, _ = _doctor()
    assert checks["beat"]["status"] == "ok"
    assert checks["database"]["status"] == checks["migrations"]["status"] == checks["storage"]["status"] == "ok"
    # The broker unreachable: named, and the workers check does not wait on it
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    checks, error = _doctor()
    assert checks["broker"]["status"] == "fail" and checks["workers"]["error"] == "the broker is unreachable"
    assert "broker" in error and connection.vendor == "postgresql"


def test_the_webhook_dispatcher_silent_is_named_unless_deliveries_are_processed_inline(settings):
    from django.core.cache import cache

    from core.ops_checks import DISPATCHER_HEARTBEAT_KEY, dispatcher_heartbeat

    settings.WEBHOOK_DISPATCH = "dispatcher"
    cache.delete(DISPATCHER_HEARTBEAT_KEY)
    checks, error = _doctor()
    assert checks["dispatcher"]["status"] == "fail" and "webhook_dispatcher" in checks["dispatcher"]["error"]
    assert "dispatcher" in error
    cache.set(DISPATCHER_HEARTBEAT_KEY, 0.0)
    checks, _ = _doctor()
    assert "s ago" in checks["dispatcher"]["error"]
    dispatcher_heartbeat()
    checks, _ = _doctor()
    assert checks["dispatcher"]["status"] == "ok"
    settings.WEBHOOK_DISPATCH = "inline"
    cache.delete(DISPATCHER_HEARTBEAT_KEY)
    checks, _ = _doctor()
    assert checks["dispatcher"]["status"] == "ok" and "inline" in checks["dispatcher"]["detail"]
