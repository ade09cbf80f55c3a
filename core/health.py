"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import time

import redis
from celery import current_app
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
def healthz(request) -> HttpResponse:
    """The process is up. No I/O, so a slow database never restarts healthy web processes."""
    return JsonResponse({"status": "ok"})


def check_run(fn) -> dict:
    """Run one check: ok (with its detail, if it returned one) or fail (with the error), and how long it took."""
    started = time.perf_counter()
    try:
        detail = fn()
        result = {"status": "ok"}
        if detail:
            result["detail"] = detail
    except Exception as exc:  # noqa: BLE001 - any failure is a failed check
        result = {"status": "fail", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def database_check() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def migrations_check() -> str | None:
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise RuntimeError(ngettext("%(n)s migration not applied", "%(n)s migrations not applied", len(pending))
                           % {"n": len(pending)})
    return None


def redis_check() -> str | None:
    if not settings.REDIS_URL:
        return "not configured (tasks run in-process)"

    redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    return None


def workers_check() -> str | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "tasks run in-process"
    # The project's app is the current one (config/__init__.py creates it at start-up); naming it through
    # Celery keeps core below config, as DESIGN's dependency chain wants.
    replies = current_app.control.inspect(timeout=1.0).ping() or {}
    if not replies:
        raise RuntimeError("no Celery worker answered")
    return ngettext("%(n)s worker", "%(n)s workers", len(replies)) % {"n": len(replies)}


@never_cache
@require_GET
def readyz(request) -> JsonResponse:
    checks = {"database": check_run(database_check), "migrations": check_run(migrations_check),
              "redis": check_run(redis_check)}
    checks["celery"] = check_run(workers_check) if checks["redis"]["status"] == "ok" else {"status": "fail",
                                                                                   "error": "redis unavailable"}
    ok = all(c["status"] == "ok" for c in checks.values())
    return JsonResponse({"status": "ok" if ok else "fail", "checks": checks}, status=200 if ok else 503)
