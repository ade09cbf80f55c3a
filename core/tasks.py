"""Core's periodic task: beat's heartbeat, which `manage.py doctor` reads."""

from __future__ import annotations

from celery import shared_task

from core.ops_checks import beat_heartbeat


@shared_task(name="core.beat_heartbeat", ignore_result=True)
def beat_heartbeat_task() -> float:
    return beat_heartbeat()
