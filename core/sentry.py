"""Error reporting to Sentry (when SENTRY_DSN is set): Django and Celery integrations, release and
environment, no default PII, and nothing secret in what leaves.

Sentry's own EventScrubber (recursive) filters its denylist of key names (password, secret, token,
authorization, cookies...) plus ours (consumer keys, refresh tokens, client secrets, signatures, the
encrypted credential columns) wherever they appear by name: request headers, extras, contexts. Local
variables of stack frames are not sent at all: a decrypted credential, a session key or a request's query
string sits in locals under names no denylist can guess (the test found a session key that way).
before_send drops request bodies, cookies and query strings outright (a webhook body is a customer's
order: names, addresses), and the parameters of SQL breadcrumbs, and tags the event with the request id
that is on every log line of the same request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.urls import Resolver404, resolve

from core.log_context import log_fields, path_redacted, text_redacted

DENYLIST_EXTRA = [
    "consumer_key", "consumer_secret", "client_secret", "refresh_token", "access_token", "lwa_client_secret",
    "api_key", "webhook_secret", "previous_client_secret", "credentials", "encrypted_credentials", "signature",
    "raw", "body",
]
# Request headers sent with an event: only these. Every channel and carrier signs or authenticates with a
# header of its own (a signature, an access token): a list of what is safe outlives a list of what is not.
SAFE_HEADERS = {"user-agent", "content-type", "content-length", "accept", "x-request-id", "host", "referer"}


def sentry_before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("query_string", None)  # a query string can carry a token
        if isinstance(request.get("headers"), dict):
            request["headers"] = {k: v for k, v in request["headers"].items() if k.lower() in SAFE_HEADERS}
        if isinstance(request.get("url"), str):
            request["url"] = _url_redacted(request["url"])
    for crumb in (event.get("breadcrumbs") or {}).get("values", []):
        if isinstance(crumb, dict) and crumb.get("category") == "query":
            crumb.pop("data", None)  # the statement's parameters: session keys, emails, tokens
        if isinstance(crumb, dict) and isinstance(crumb.get("message"), str):
            crumb["message"] = text_redacted(crumb["message"])
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        for key in ("message", "formatted"):
            if isinstance(logentry.get(key), str):
                logentry[key] = text_redacted(logentry[key])
        if isinstance(logentry.get("params"), list):
            logentry["params"] = [text_redacted(p) if isinstance(p, str) else p for p in logentry["params"]]
    request_id = log_fields().get("request_id")
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def _url_redacted(url: str) -> str:
    parts = urlsplit(url)
    try:
        kwargs = resolve(parts.path).kwargs
    except Resolver404:
        return url
    return urlunsplit(parts._replace(path=path_redacted(parts.path, kwargs), query=""))


def sentry_init(*, dsn: str, environment: str, release: str | None) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=dsn, environment=environment, release=release, send_default_pii=False, traces_sample_rate=0.0,
        include_local_variables=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *DENYLIST_EXTRA], recursive=True),
        before_send=sentry_before_send,
    )
