from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_openapi_schema_is_valid_and_complete_without_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )

    assert result.returncode == 0, result.stderr[-4000:]


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/auth/token/" in paths and "/api/v1/jobs/" in paths
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"swagger-ui" in docs.content


@pytest.mark.django_db
def test_unknown_api_path_is_404_in_the_error_shape(client):
    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such API endpoint.", "details": {}}}


@pytest.mark.django_db
def test_unauthenticated_is_401_in_the_error_shape(client):
    response = client.get("/api/v1/jobs/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_bad_token_is_401_not_anonymous(client):
    response = client.get("/api/v1/jobs/", HTTP_AUTHORIZATION="Bearer sb_deadbeef_nope")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_validation_error_is_400_in_the_error_shape(merchant_a):
    response = merchant_a.api.post("/api/v1/api-tokens/", {"name": ""}, format="json")

    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "validation_failed"
    assert "name" in body["details"]["fields"]
    assert body["message"].startswith("Invalid input. name:")


@pytest.mark.django_db
def test_malformed_json_is_400_in_the_error_shape(merchant_a):
    response = merchant_a.api.post("/api/v1/api-tokens/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


@pytest.mark.django_db
def test_method_not_allowed_is_405_in_the_error_shape(merchant_a):
    response = merchant_a.api.put("/api/v1/jobs/", {}, format="json")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_page_size_is_capped_at_500(merchant_a):
    from accounts.tenancy import tenant_scope
    from jobs.services import job_create

    with tenant_scope(merchant_a.merchant):
        for i in range(3):
            job_create(merchant=merchant_a.merchant, kind="tests.page", description=str(i))

    first = merchant_a.api.get("/api/v1/jobs/?page_size=2").json()
    capped = merchant_a.api.get("/api/v1/jobs/?page_size=100000").json()

    assert len(first["results"]) == 2 and first["next"] and first["previous"] is None
    second = merchant_a.api.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert len(capped["results"]) == 3
    from core.api import CursorPagination

    assert CursorPagination.max_page_size == 500 and CursorPagination.page_size == 50
