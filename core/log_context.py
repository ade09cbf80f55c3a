"""What every log line says about where it came from: the request id, the merchant, the user, the task.

One request id follows a request into every Celery task it enqueues (a message header, bound again in the
worker) and so into every outbound call and log line those make; an operator greps one id and sees the
whole story. The fields live in a context variable bound with `log_bound(...)`: the request middleware
binds the id, accounts' tenant scope binds the merchant, the Celery signals below bind the task.
ContextFilter copies them onto each record, where the JSON formatter (LOG_FORMAT=json, the default in
production) writes them as keys. Secrets never go in: only ids are bound here.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from django.apps import apps as _apps
from django.conf import settings as _settings

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


# A URL parameter whose value opens something: a webhook endpoint's token, a signed label link, an invitation's
# key, allauth's e-mail confirmation key and password-reset uidb36-key, a signature, a secret.
_SECRET_PARAM = re.compile(r"token|key|secret|signature|password|uidb36|hmac|(?:^|_)sig(?:_|$)", re.IGNORECASE)


def secret_param(name: str) -> bool:
    """A URL parameter named like a secret (tests/core/test_log_redaction.py checks every route that has one)."""
    return bool(_SECRET_PARAM.search(name))


def path_redacted(path: str, kwargs: dict[str, Any] | None = None) -> str:
    """The path with the values of its secret URL parameters replaced: a path is logged and sent to Sentry, those
    values open things. By the routes' shape (text_redacted); `kwargs`, the resolved parameters, catch a
    value left over by a path the shapes did not take whole (a SCRIPT_NAME prefix is matched anyway). A short value
    is left to the shapes: replacing it everywhere would mangle the path (uidb36 "a")."""
    path = text_redacted(path)
    for name, value in (kwargs or {}).items():
        if isinstance(value, str) and len(value) >= 8 and secret_param(name) and value in path:
            path = path.replace(value, "[redacted]")
    return path


# A path in a line of text: up to its query, its fragment, a space or a quote.
_PATH_IN_TEXT = re.compile(r"/[^\s?#'\"<>]*")
_GROUP = re.compile(r"\(\?P<(\w+)>")
_ANCHOR = re.compile(r"^\^|(?:\\Z|(?<!\\)\$)$")


@functools.lru_cache(maxsize=4)
def _secret_shapes(urlconf: str) -> tuple[re.Pattern, dict[str, tuple[str, ...]]] | None:
    """One regex for every route of `urlconf` with a secret parameter, derived from the URL resolver (whatever an
    app or an included URLconf such as allauth's adds): each route's own regex, its levels joined, in a group b<n>
    of its own, its secret groups named s<n> (the others n<n>), tried with and without the trailing slash
    (APPEND_SLASH's redirect logs the path without it first); with the secret group names of each branch. Matched
    against a path's end, as the resolver matches from its start."""
    from django.urls import URLResolver, get_resolver

    branches: list[str] = []
    secrets: dict[str, tuple[str, ...]] = {}
    numbers = itertools.count()

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            regex = prefix + _ANCHOR.sub("", pattern.pattern.regex.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, regex)
            elif any(secret_param(name) for name in _GROUP.findall(regex)):
                for variant in (regex, regex[:-1]) if regex.endswith("/") else (regex,):
                    branch, names = f"b{next(numbers)}", []

                    def renamed(found: re.Match, names: list[str] = names) -> str:
                        name = f"{'s' if secret_param(found.group(1)) else 'n'}{next(numbers)}"
                        if name[0] == "s":
                            names.append(name)
                        return f"(?P<{name}>"

                    branches.append(f"(?P<{branch}>{_GROUP.sub(renamed, variant)})")
                    secrets[branch] = tuple(names)

    walk(get_resolver(urlconf).url_patterns, "")
    return (re.compile("/(?:" + "|".join(branches) + r")\Z"), secrets) if branches else None


@functools.lru_cache(maxsize=1024)
def _path_redacted(urlconf: str, path: str) -> str:
    """One path with its secret parameters replaced (cached: the busiest paths, a store's webhook endpoint, come
    again and again, and an access line names the path four times)."""
    regex, secrets = _secret_shapes(urlconf)
    match = regex.search(path.rstrip(").,;:!"))  # less a sentence's punctuation after the path
    if match is None:
        return path
    parts, last = [], 0
    for start, end in sorted(match.span(name) for name in secrets[match.lastgroup]):
        parts += [path[last:start], "[redacted]"]
        last = end
    return "".join(parts) + path[last:]


def text_redacted(text: str) -> str:
    """`text` with the secret parameters of every path in it that one of our secret routes matches replaced
    (`/webhooks/<channel>/[redacted]/`, `/accounts/password/reset/key/[redacted]-[redacted]/`; Django's own lines
    name the path: "Unauthorized: /webhooks/<channel>/<token>/", a request's repr), without resolving anything:
    for lines written on every request too (gunicorn's access log, deploy/gunicorn_logging.py), where resolving
    each path would cost 0.1-0.9 ms. Before Django's apps are loaded (gunicorn's master, which serves
    no request) there is no URLconf to read, and the text is returned as it is."""
    if "/" not in text or not _apps.ready:
        return text
    urlconf = _settings.ROOT_URLCONF
    if _secret_shapes(urlconf) is None:
        return text
    return _PATH_IN_TEXT.sub(lambda found: _path_redacted(urlconf, found.group(0)), text)


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
