"""What `manage.py doctor` checks for an operator, beyond /readyz: the checks a load balancer must not run
on every probe (every stored secret decrypted, the storage written to) and the ones that need history
(beat's and the webhook dispatcher's last heartbeats). Each returns a detail string when all is well and raises when it is not, as
core.health's checks do, so both run through core.health.check_run.
"""

from __future__ import annotations

import time
import uuid

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from core.fields import ENCRYPTED_FIELD_TYPES, decrypt

BEAT_HEARTBEAT_KEY = "ops:beat:heartbeat"
BEAT_STALE_SECONDS = 180  # the heartbeat is written every minute: three missed beats is a dead beat


def beat_heartbeat() -> float:
    """Beat runs this every minute (core.beat_heartbeat): the doctor reads when it last did."""
    now = time.time()
    cache.set(BEAT_HEARTBEAT_KEY, now, timeout=None)
    return now


def beat_check() -> str:
    if not settings.REDIS_URL:
        return "runs in-process beside the server (make run): its heartbeat is in that process's memory"
    last = cache.get(BEAT_HEARTBEAT_KEY)
    if last is None:
        raise RuntimeError("no heartbeat from beat yet: is exactly one `celery -A config beat` running?")
    age = time.time() - float(last)
    if age > BEAT_STALE_SECONDS:
        raise RuntimeError(f"beat's last heartbeat was {age / 60:.0f} minutes ago: polls, pushes and sweepers stopped")
    return f"last heartbeat {age:.0f} s ago"


DISPATCHER_HEARTBEAT_KEY = "ops:webhook-dispatcher:heartbeat"
DISPATCHER_HEARTBEAT_SECONDS = 10.0  # written at most this often, on every wake-up or idle poll
DISPATCHER_STALE_SECONDS = 60


def dispatcher_heartbeat() -> float:
    """The webhook dispatcher (`manage.py webhook_dispatcher`) says it is alive; the doctor reads when."""
    now = time.time()
    cache.set(DISPATCHER_HEARTBEAT_KEY, now, timeout=None)
    return now


def dispatcher_check() -> str:
    """Deliveries wait for the webhook dispatcher in "dispatcher" mode (WEBHOOK_DISPATCH): without it they
    are only handed out by beat's 30-second sweep."""
    eager = getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
    mode = getattr(settings, "WEBHOOK_DISPATCH", "") or ("inline" if eager else "dispatcher")
    if mode == "inline":
        return "inline: each delivery's processing is enqueued by its request (no dispatcher needed)"
    last = cache.get(DISPATCHER_HEARTBEAT_KEY)
    if last is None:
        raise RuntimeError("no heartbeat from the webhook dispatcher: is `manage.py webhook_dispatcher` running? "
                           "(deliveries wait for beat's 30 s sweep meanwhile)")
    age = time.time() - float(last)
    if age > DISPATCHER_STALE_SECONDS:
        raise RuntimeError(f"the webhook dispatcher's last heartbeat was {age:.0f} s ago: deliveries wait for "
                           "beat's 30 s sweep")
    return f"last heartbeat {age:.0f} s ago"


def settings_check() -> str:
    """What a started process cannot tell by itself: settings a working shop needs but start-up allows
    empty (production start-up already refuses the required ones)."""
    missing = []
    if not getattr(settings, "WEBHOOK_BASE_URL", None):
        missing.append("WEBHOOK_BASE_URL (marketplaces and carriers cannot reach the webhook endpoints)")
    if settings.EMAIL_BACKEND.endswith(("console.EmailBackend", "locmem.EmailBackend", "dummy.EmailBackend")):
        missing.append("EMAIL_URL (mail is not sent, only printed)")
    if settings.DEBUG and getattr(settings, "IS_PRODUCTION", False):
        missing.append("DEBUG is on in production")
    if missing:
        raise RuntimeError("; ".join(missing))
    return "complete"


def encryption_check(batch_size: int = 1000) -> str:
    """Every stored secret of every model decrypts with FIELD_ENCRYPTION_KEYS (a key removed too early
    after a rotation shows here before a merchant's sync fails on it). Raw SQL in pk order, read only."""
    quote = connection.ops.quote_name
    checked, broken = 0, []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, ENCRYPTED_FIELD_TYPES)]
        if not fields:
            continue
        table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
        columns = ", ".join(quote(f.column) for f in fields)
        last = None
        while True:
            with connection.cursor() as cursor:
                where = f"WHERE {pk} > %s " if last is not None else ""
                cursor.execute(f"SELECT {pk}, {columns} FROM {table} {where}ORDER BY {pk} LIMIT %s",  # noqa: S608
                               [last, batch_size] if last is not None else [batch_size])
                rows = cursor.fetchall()
            for row_pk, *values in rows:
                for value in values:
                    if value in (None, ""):
                        continue
                    checked += 1
                    try:
                        decrypt(value)
                    except Exception:  # noqa: BLE001 - any failure to decrypt is what we report
                        broken.append(f"{model._meta.label} #{row_pk}")
            if len(rows) < batch_size:
                break
            last = rows[-1][0]
    if broken:
        raise RuntimeError(f"{len(broken)} of {checked} stored secrets do not decrypt with FIELD_ENCRYPTION_KEYS: "
                           + ", ".join(broken[:10]))
    return f"{checked} stored secrets decrypt"


def storage_check() -> str:
    name = default_storage.save(f"ops/doctor-{uuid.uuid4().hex}.txt", ContentFile(b"doctor"))
    try:
        with default_storage.open(name) as handle:
            if handle.read() != b"doctor":
                raise RuntimeError("what was written to storage did not read back")
    finally:
        default_storage.delete(name)
    return f"{settings.STORAGES['default']['BACKEND'].rsplit('.', 1)[-1]} writable"
