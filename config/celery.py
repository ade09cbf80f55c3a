"""The Celery app: Redis broker, JSON only, at-least-once delivery (tasks must be idempotent)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from core.log_context import celery_signals_connect  # noqa: E402 - after the settings module is named

celery_signals_connect()
