"""What every log line says about where it came from: the request id, the merchant, the user, the task.

One request id follows a request into every Celery task it enqueues (a message header, bound again in the
worker) and so into every outbound call and log line those make; an operator greps one id and sees the
whole story. The fields live in a context variable bound with `log_bound(...)`: the request middleware
binds the id, accounts' tenant scope binds the merchant, the Celery signals below bind the task.
ContextFilter copies them onto each record, where the JSON formatter (LOG_FORMAT=json, the default in
production) writes them as keys. Secrets never go in: only ids are bound here.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

_fields: ContextVar[dict[str, Any]] = ContextVar("log_fields", default={})  # noqa: B039 - never mutated in place
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
logger = logging.getLogger(__name__)


@contextmanager
def log_bound(**fields: Any) -> Iterator[None]:
    """Add fields to every log line written inside the block (None values are left out)."""
    token = _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _fields.reset(token)


def log_fields() -> dict[str, Any]:
    return _fields.get()


# Where the request came from (client IP, user agent), for the audit trail. Kept apart from the log fields:
# an address and a browser string are personal data, not ids, and do not belong on every log line.
_origin: ContextVar[dict[str, str]] = ContextVar("request_origin", default={})  # noqa: B039 - never mutated


@contextmanager
def origin_bound(*, ip: str | None, user_agent: str | None) -> Iterator[None]:
    token = _origin.set({"ip": ip or "", "user_agent": (user_agent or "")[:500]})
    try:
        yield
    finally:
        _origin.reset(token)


def request_origin() -> dict[str, str]:
    """{"ip": ..., "user_agent": ...} of the request being served ({} outside one, e.g. in a task)."""
    return _origin.get()


def client_ip(meta: dict[str, Any], *, trusted_proxies: int) -> str:
    """The client's address: the one `trusted_proxies` hops back in X-Forwarded-For (the same rule DRF's
    NUM_PROXIES and allauth's TRUSTED_PROXY_COUNT follow), else REMOTE_ADDR. A header with fewer hops than
    we have proxies was not written by them, so it is ignored rather than believed."""
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if trusted_proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        if len(hops) >= trusted_proxies and hops[-trusted_proxies]:
            return hops[-trusted_proxies][:64]
    return str(meta.get("REMOTE_ADDR") or "")[:64]


def request_id_new() -> str:
    return uuid.uuid4().hex


def request_id_accepted(value: str | None) -> str | None:
    """A request id from the trusted proxy, if it has a sane shape (it is written into every log line)."""
    return value if value and _REQUEST_ID_SHAPE.match(value) else None


def path_redacted(path: str, kwargs: dict[str, Any] | None) -> str:
    """The path with the values of secret URL parameters (any named like `token`: a webhook endpoint's
    token, a signed file link) replaced: a path is logged and sent to Sentry, those values open things."""
    for name, value in (kwargs or {}).items():
        if "token" in name and isinstance(value, str) and value:
            path = path.replace(value, "[redacted]")
    return path


_PATHS = re.compile(r"/[^\s'\"<>]*")


def text_redacted(text: str) -> str:
    """Every path in `text` that one of our URLs matches, with its secret parameters redacted (Django's own
    lines name the path: "Unauthorized: /webhooks/<channel>/<token>/", a request's repr)."""
    from django.urls import Resolver404, resolve

    def one(found: re.Match) -> str:
        path = found.group(0).split("?", 1)[0]
        try:
            kwargs = resolve(path).kwargs
        except (Resolver404, ValueError):
            return found.group(0)
        return path_redacted(found.group(0), kwargs) if kwargs else found.group(0)

    return _PATHS.sub(one, text) if "/" in text else text


# The paths that carry a secret (a webhook endpoint's token, a signed label-file link), by their shape: for lines
# written where resolving each path, as text_redacted does (0.1-0.9 ms a line), costs too much for every request:
# gunicorn's access log (deploy/gunicorn_logging.py). tests/core/test_log_redaction.py checks that it covers every
# route with a token parameter.
_SECRET_PATHS = re.compile(r"(/(?:webhooks/[^/\s?#\"']+|shipments/files)/)[^/\s?#\"']+")


def secret_paths_redacted(text: str) -> str:
    """`text` with the secret segment of every webhook receiver or label-file path replaced, without resolving
    anything (`/webhooks/<channel>/[redacted]/`)."""
    return _SECRET_PATHS.sub(r"\1[redacted]", text) if "/" in text else text


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record; `request_id` is always present ("-" outside a request),
    so the plain format can name it. Records Django writes about a request (django.request's "Not Found:
    <path>", with the request attached) have their paths redacted here."""

    def filter(self, record: logging.LogRecord) -> bool:
        if hasattr(record, "request"):
            record.msg, record.args = text_redacted(record.getMessage()), ()
            record.request = text_redacted(repr(record.request))
        fields = _fields.get()
        for key, value in fields.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return True


# ---------------------------------------------------------------- Celery: the id travels with the message

_task_tokens: dict[str, tuple[Token, float]] = {}


def _task_published(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = _fields.get().get("request_id")
    if headers is not None and request_id:
        headers["request_id"] = request_id


def _task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    request = getattr(task, "request", None)
    request_id = request_id_accepted(getattr(request, "request_id", None)) or _fields.get().get("request_id")
    token = _fields.set({**_fields.get(), "request_id": request_id or request_id_new(),
                         "task": getattr(task, "name", None), "task_id": task_id})
    _task_tokens[task_id or ""] = (token, time.monotonic())


def _task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    entry = _task_tokens.pop(task_id or "", None)
    if entry is None:
        return
    token, started = entry
    logger.info("celery.task.done", extra={"state": state, "duration_ms": round((time.monotonic() - started) * 1000, 1)})
    _fields.reset(token)


def celery_signals_connect() -> None:
    """Called once by config.celery: publish carries the id, prerun binds it, postrun logs the duration."""
    from celery import signals

    signals.before_task_publish.connect(_task_published, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_finished, weak=False)
