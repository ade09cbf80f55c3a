from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.test import override_settings

import core.health


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


def test_core_health_imports_nothing_from_config():
    # Given core/health.py, which sits below config in DESIGN's dependency chain
    tree = ast.parse(Path(core.health.__file__).read_text())

    # When every import in it (module level and inside functions) is collected
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    # Then none of them is config or below it
    assert sorted(name for name in imported if name == "config" or name.startswith("config.")) == []
