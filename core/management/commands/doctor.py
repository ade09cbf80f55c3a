"""`manage.py doctor`: is this installation able to run a shop? One line per check, exit 1 on any failure.

Beyond /readyz (database, migrations, Redis, workers) it checks what a probe must not do every few
seconds or cannot know: settings a working shop needs, the broker, beat's and the webhook dispatcher's last
heartbeats, every stored
secret decrypting with the configured keys, and the file storage taking a write.
"""

from __future__ import annotations

import json

from celery import current_app
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import ngettext

from core import health, ops_checks


def _broker() -> str:
    if current_app.conf.task_always_eager:
        return "tasks run in-process"
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return current_app.conf.broker_url.split("@")[-1]  # host and database only: a URL may carry a password


CHECKS = {
    "settings": ops_checks.settings_check,
    "database": health.database_check,
    "migrations": health.migrations_check,
    "redis": health.redis_check,
    "broker": _broker,
    "workers": health.workers_check,
    "beat": ops_checks.beat_check,
    "dispatcher": ops_checks.dispatcher_check,
    "encryption": ops_checks.encryption_check,
    "storage": ops_checks.storage_check,
}


class Command(BaseCommand):
    help = ("Check that this installation can run a shop (settings, database, Redis, broker, workers, beat, "
            "webhook dispatcher, keys, storage).")

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="one JSON object instead of lines")

    def handle(self, *args, **options):
        results = {}
        for name, check in CHECKS.items():
            if name == "workers" and results.get("broker", {}).get("status") != "ok":
                results[name] = {"status": "fail", "error": "the broker is unreachable"}
                continue
            results[name] = health.check_run(check)
        failed = [name for name, result in results.items() if result["status"] != "ok"]
        if options.get("json"):
            self.stdout.write(json.dumps({"status": "fail" if failed else "ok", "checks": results}))
        else:
            for name, result in results.items():
                words = result.get("detail") or result.get("error") or ""
                self.stdout.write(f"{result['status'].upper():4}  {name:<11} {words}")
        if failed:
            raise CommandError(ngettext("%(n)s check failed: %(names)s", "%(n)s checks failed: %(names)s", len(failed))
                               % {"n": len(failed), "names": ", ".join(failed)})
