"""Logs an operator can follow (core.log_context): every request has an id, returned in X-Request-ID and
written on every log line it causes, with the merchant and the user; the id travels with the Celery
messages the request sends and is on the worker's lines; planted secrets appear on no line."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from config.celery import app
from core.enqueue import enqueue_now
from core.log_context import ContextFilter, log_bound
from tests.webhooks.conftest import deliver, order_body, shop_a, token_of  # noqa: F401 - the connected store fixture
from tests.worker_process import worker_start, worker_stop

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0  # an upper bound on waiting for the worker, not a timing assertion


def _lines(caplog) -> list[dict]:
    """Every captured record as the production formatter writes it (one JSON object per line)."""
    config = dict(settings.LOGGING["formatters"]["json"])
    formatter, context = import_string(config.pop("()"))(**config), ContextFilter()
    out = []
    for record in caplog.records:
        context.filter(record)
        out.append(json.loads(formatter.format(record)))
    return out


@pytest.mark.django_db
def test_each_request_gets_an_id_a_forged_one_is_ignored_and_a_trusted_proxys_is_kept(merchant_a, settings):
    made = merchant_a.api.get("/api/v1/orders/", HTTP_X_REQUEST_ID="forged-by-the-client-1")
    settings.TRUSTED_PROXY_COUNT = 1
    kept = merchant_a.api.get("/api/v1/orders/", HTTP_X_REQUEST_ID="lb-7f3a9c21")
    odd = merchant_a.api.get("/api/v1/orders/", HTTP_X_REQUEST_ID="no spaces or <tags> allowed")
    assert len(made["X-Request-ID"]) == 32 and made["X-Request-ID"] != "forged-by-the-client-1"
    assert kept["X-Request-ID"] == "lb-7f3a9c21"
    assert len(odd["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_every_line_of_a_request_carries_its_id_merchant_and_user(merchant_a, shop_a, client, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    # When: a delivery with a wrong signature (the inbox logs the refusal), and an API call
    refused = deliver(client, shop_a, "orders/create", order_body(), secret="not-the-secret")
    listed = merchant_a.api.get("/api/v1/orders/")
    lines = _lines(caplog)
    # Then: the refusal's line and the request line have the delivery's id; the API line names who asked
    ids = {refused["X-Request-ID"], listed["X-Request-ID"]}
    webhook_lines = [x for x in lines if x["request_id"] == refused["X-Request-ID"]]
    assert refused.status_code == 401 and len(webhook_lines) >= 2
    assert any(x["logger"] == "webhooks.views" or x["logger"].startswith("webhooks") for x in webhook_lines)
    api = next(x for x in lines if x["message"] == "http.request" and x["request_id"] == listed["X-Request-ID"])
    assert (api["status"], api["merchant_id"], api["user_id"], api["route"]) == (
        200, merchant_a.merchant.pk, merchant_a.user.pk, "api/v1/orders/")
    assert all(x["request_id"] in ids for x in lines if x["message"] == "http.request")


PLANTED = {"password": "Planted-Password-9x7", "body": "planted-customer-secret-5521",
           "token_name": "planted token name"}


@pytest.mark.django_db
def test_planted_secrets_are_on_no_log_line(merchant_a, shop_a, client, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    # A password guess, a token exchange, a delivery signed right and one signed wrong with a planted value
    client.post("/api/v1/auth/token/", {"email": merchant_a.user.email, "password": PLANTED["password"]},
                content_type="application/json")
    body = order_body()
    body["note"] = PLANTED["body"]
    ok = deliver(client, shop_a, "orders/create", body)
    deliver(client, shop_a, "orders/create", body, secret="wrong-secret")
    with_token = merchant_a.api.get("/api/v1/orders/")
    assert ok.status_code == 200 and with_token.status_code == 200
    text = "\n".join(json.dumps(x) for x in _lines(caplog))
    planted = [PLANTED["password"], PLANTED["body"], merchant_a.token, shop_a.credentials["client_secret"],
               token_of(shop_a)]  # the store's webhook address carries its endpoint token
    assert [secret for secret in planted if secret in text] == []
    assert "http.request" in text  # the lines were there to search


@pytest.mark.django_db(transaction=True)
def test_the_request_id_follows_a_task_into_a_real_worker(tmp_path):
    # Given: a real worker writing JSON lines, and the broker used for real (not in-process)
    log = tmp_path / "worker.log"
    worker = worker_start(log, {"LOG_FORMAT": "json"})
    saved = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager, app.conf.broker_url = False, settings.REDIS_URL
    try:
        # When: a request's code enqueues a task
        with log_bound(request_id="req-followed-0001"):
            enqueue_now("inventory.low_stock_sweep")
        # Then: the worker's line for that task carries the request's id, with its duration
        deadline = time.monotonic() + WAIT
        done = None
        while done is None and time.monotonic() < deadline and worker.poll() is None:
            for raw in log.read_text(errors="replace").splitlines():
                line = json.loads(raw) if raw.startswith("{") and '"celery.task.done"' in raw else {}
                if line.get("task") == "inventory.low_stock_sweep" and line.get("request_id") == "req-followed-0001":
                    done = line  # (a task left in this Redis database by another test may run first)
            time.sleep(0.2)
    finally:
        app.conf.task_always_eager, app.conf.broker_url = saved
        worker_stop(worker)
    assert done is not None, log.read_text(errors="replace")[-3000:]
    assert (done["request_id"], done["task"], done["state"]) == ("req-followed-0001", "inventory.low_stock_sweep",
                                                                 "SUCCESS")
    assert done["duration_ms"] >= 0
