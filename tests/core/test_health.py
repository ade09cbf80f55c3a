from __future__ import annotations

import pytest
from django.test import override_settings


def test_healthz_does_no_io(client):
    # No django_db mark: pytest-django raises on any database access here.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
@override_settings(CELERY_TASK_ALWAYS_EAGER=True, REDIS_URL=None)
def test_readyz_ok_when_tasks_run_in_process(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    checks = response.json()["checks"]
    assert {name: c["status"] for name, c in checks.items()} == {
        "database": "ok", "migrations": "ok", "redis": "ok", "celery": "ok"}


@pytest.mark.django_db
@override_settings(CELERY_TASK_ALWAYS_EAGER=False, REDIS_URL="redis://127.0.0.1:1/0")
def test_readyz_is_503_and_names_the_failing_check(client):
    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "fail"
    assert body["checks"]["celery"]["status"] == "fail"
