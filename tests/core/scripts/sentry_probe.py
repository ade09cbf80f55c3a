"""Run by tests/core/test_sentry.py in its own process (Sentry's client is process-global): with SENTRY_DSN
pointing at the test's loopback ingest, fail inside a view and inside a Celery task, each holding planted
secrets in its local variables, headers and body, then flush."""

import os
import sys

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import sentry_sdk  # noqa: E402
from celery import shared_task  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

from config.urls import urlpatterns as project_urls  # noqa: E402
from core.log_context import log_bound  # noqa: E402

PLANTED = os.environ["PLANTED"]


def boom(request, token):
    password = PLANTED  # noqa: F841 - a local the stack frame would carry
    raise RuntimeError("the view failed")


urlpatterns = [*project_urls, path("boom/<str:token>/", boom)]


@shared_task(name="tests.sentry_boom")
def sentry_boom(consumer_secret: str) -> None:
    raise RuntimeError("the task failed")


with override_settings(ROOT_URLCONF=__name__):
    response = Client(raise_request_exception=False).post(
        f"/boom/{PLANTED}/?token={PLANTED}", data=f'{{"note": "{PLANTED}"}}', content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=PLANTED, HTTP_COOKIE=f"sessionid={PLANTED}")
    print("view", response.status_code, response["X-Request-ID"], flush=True)
with log_bound(request_id="task-request-0001"):
    try:
        sentry_boom.apply(kwargs={"consumer_secret": PLANTED})
    except RuntimeError:
        pass  # eager tasks propagate (CELERY_TASK_EAGER_PROPAGATES); Sentry has seen it by then
sentry_sdk.flush(timeout=10)
