"""Shared fixtures and the service gate.

Tests marked `postgres` or `redis` need the real service. Without it they are skipped, and a
loud line at the end says how many and why; with REQUIRE_SERVICES=1 (CI) they fail instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"
_skipped_for_services: dict[str, int] = {}
REDIS_DATABASES = 16  # Redis's default `databases`


def redis_url_for_worker(url: str, worker: str) -> str:
    """The Redis URL an xdist worker uses: REDIS_URL's database number plus the worker's index (gw0 keeps
    it). Each worker gets a database of its own, not a key prefix, because the broker's queues, the cache's
    throttle counters and the rate-limit buckets are all keyed by ids that every worker's database reuses,
    and a test's `cache.clear()` is a FLUSHDB."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    db = base + int(worker.removeprefix("gw"))
    if db >= REDIS_DATABASES:
        raise pytest.UsageError(f"xdist worker {worker} would need Redis database {db} (REDIS_URL's {base} plus "
                                f"its index): point REDIS_URL at a lower database or run fewer workers")
    return urlunsplit(parts._replace(path=f"/{db}"))


def _redis_per_xdist_worker() -> None:
    """pytest-django has loaded the settings before any conftest, so the worker's URL is set on them (and in
    the environment, for the worker processes tests start) before anything connects: the cache, the
    broker and the rate-limit buckets all read these."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not settings.REDIS_URL:
        return
    url = redis_url_for_worker(settings.REDIS_URL, worker)
    os.environ["REDIS_URL"] = url
    settings.REDIS_URL = settings.CELERY_BROKER_URL = url
    settings.CACHES["default"]["LOCATION"] = url


_redis_per_xdist_worker()


def _redis_answers() -> bool:
    if not settings.REDIS_URL:
        return False
    try:
        import redis

        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


def pytest_collection_modifyitems(config, items):
    from tests.browser.conftest import chromium_path

    available = {"postgres": settings.IS_POSTGRES, "redis": _redis_answers(), "browser": bool(chromium_path())}
    missing = [name for name, ok in available.items() if not ok]
    if REQUIRED and missing:
        raise pytest.UsageError(f"REQUIRE_SERVICES=1 but these services are unavailable: {', '.join(missing)}")
    for item in items:
        for name in missing:
            if item.get_closest_marker(name):
                _skipped_for_services[name] = _skipped_for_services.get(name, 0) + 1
                item.add_marker(pytest.mark.skip(reason=f"needs {name}, which is not available here"))
                break


def pytest_terminal_summary(terminalreporter):
    if _skipped_for_services:
        parts = ", ".join(f"{n} test(s) need {svc}" for svc, n in _skipped_for_services.items())
        line = f"!!! SKIPPED {sum(_skipped_for_services.values())} TESTS FOR MISSING SERVICES: {parts}. " \
               "Start PostgreSQL/Redis or set DATABASE_URL/REDIS_URL to run them. !!!"
        terminalreporter.write_sep("!", "services")
        terminalreporter.write_line(line, red=True, bold=True)


@dataclass
class Tenant:
    merchant: object
    user: object
    token: str
    api: object  # rest_framework.test.APIClient authenticated with the token
    web: object  # django.test.Client signed in with the session


def make_tenant(email: str, name: str) -> Tenant:
    from django.test import Client
    from rest_framework.test import APIClient

    from accounts.models import User
    from accounts.services import api_token_create, merchant_create
    from accounts.tenancy import tenant_scope

    user = User.objects.create_user(email, "a-long-enough-password-1")
    merchant = merchant_create(name=name, owner=user)
    with tenant_scope(merchant):
        _, raw = api_token_create(merchant=merchant, user=user, name="tests")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    web = Client()
    web.force_login(user)
    return Tenant(merchant=merchant, user=user, token=raw, api=api, web=web)


@pytest.fixture
def merchant_a(db) -> Tenant:
    return make_tenant("alice@a.example", "Merchant A")


@pytest.fixture
def merchant_b(db) -> Tenant:
    return make_tenant("bob@b.example", "Merchant B")


@pytest.fixture
def scope_a(merchant_a):
    """Run the test body inside merchant A's scope, as a request or task would."""
    from accounts.tenancy import tenant_scope

    with tenant_scope(merchant_a.merchant):
        yield merchant_a


@pytest.fixture(autouse=True, scope="session")
def _task_modules_loaded():
    """Load the task modules once, before any test body runs. In-process (eager) mode loads them the way a
    worker does on the first task sent, and Celery's Django fix-up then runs django.setup() again, which
    reconfigures logging and drops pytest's capture handlers for the rest of that test: its caplog would
    miss what it asserts on (a `core.db.retry` warning, say)."""
    from celery import current_app

    current_app.loader.import_default_modules()
