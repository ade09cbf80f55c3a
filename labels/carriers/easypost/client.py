"""EasyPost over the official `easypost` SDK, pointed at EASYPOST_API_BASE_URL (its `api_base`, version
segment included: reference §4.8). HTTP only: no ORM, every failure mapped to core.http's family.

The SDK sends with its own `requests` session; we swap that session for core.http's guarded one (no
private addresses, no environment proxies, the same rule as every other outbound call) and check the
base URL with `url_check`, so pointing EASYPOST_API_BASE_URL somewhere odd is refused the same way.
The SDK retries nothing on a status and never reads Retry-After (§4.8): `call` retries 429, 5xx and
time-outs itself with core.backoff, honouring Retry-After (read through the SDK's response hook), within
the caller's deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import easypost
from django.conf import settings
from easypost.errors import (
    ApiError,
    EasyPostError,
    ForbiddenError,
    HttpError,
    InternalServerError,
    RateLimitError,
    ServiceUnavailableError,
    TimeoutError,
    UnauthorizedError,
)

from core.backoff import backoff_delay
from core.http import AuthFailed, ExternalError, Rejected, Throttled, Transient, guarded_session, url_check

logger = logging.getLogger("labels.easypost")
T = TypeVar("T")


class EasyPostRejected(Rejected):
    """EasyPost refused the request: `code` is its error code ("SHIPMENT.POSTAGE.EXISTS")."""

    def __init__(self, message: str, *, code: str, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.code = code


def _words(error: ApiError) -> str:
    """EasyPost's message and its field errors, as it wrote them."""
    parts = [str(error.message or "").strip()]
    for item in error.errors or []:
        if isinstance(item, dict):
            text = " ".join(str(item.get(k) or "") for k in ("field", "message")).strip()
        else:
            text = str(item)
        if text:
            parts.append(text)
    return "; ".join(p for p in parts if p)


class EasyPostClient:
    def __init__(self, api_key: str, *, timeout: float = 30.0, max_attempts: int = 4,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        base = settings.EASYPOST_API_BASE_URL.rstrip("/")
        url_check(base, resolve=False)
        self.sdk = easypost.EasyPostClient(api_key, api_base=base, timeout=timeout)
        self.sdk._requests_session = guarded_session()  # the SDK's private session: see the module docstring
        self.max_attempts = max_attempts
        self.sleep = sleep
        self._local = threading.local()
        self.sdk.subscribe_to_response_hook(self._remember_retry_after)

    def _remember_retry_after(self, **kwargs: Any) -> None:
        headers = kwargs.get("headers") or {}
        self._local.retry_after = headers.get("Retry-After") if hasattr(headers, "get") else None

    def _mapped(self, exc: EasyPostError, what: str) -> ExternalError:
        if isinstance(exc, RateLimitError):
            value = getattr(self._local, "retry_after", None)
            try:
                retry_after = float(value) if value else None
            except ValueError:
                retry_after = None
            return Throttled(f"EasyPost {what}: 429", retry_after=retry_after, status=429)
        if isinstance(exc, UnauthorizedError | ForbiddenError):
            return AuthFailed(f"EasyPost refused the API key ({_words(exc)})", status=exc.http_status)
        if isinstance(exc, InternalServerError | ServiceUnavailableError | TimeoutError | HttpError):
            return Transient(f"EasyPost {what}: {type(exc).__name__}", status=getattr(exc, "http_status", None))
        if isinstance(exc, ApiError) and exc.http_status and exc.http_status >= 500:
            return Transient(f"EasyPost {what}: {exc.http_status}", status=exc.http_status)
        if isinstance(exc, ApiError):
            return EasyPostRejected(_words(exc) or f"EasyPost refused {what}", code=str(exc.code or ""),
                                    status=exc.http_status)
        return Transient(f"EasyPost {what}: {type(exc).__name__}")

    def call(self, what: str, fn: Callable[..., T], *args: Any, deadline: float | None = None,
             retry: bool = True, **kwargs: Any) -> T:
        """Run one SDK call; retry Throttled/Transient with the shared backoff while attempts and the
        deadline (a time.monotonic() value) allow."""
        attempt = 0
        while True:
            attempt += 1
            self._local.retry_after = None
            started = time.monotonic()
            try:
                result = fn(*args, **kwargs)
                logger.info("labels.easypost.call what=%s duration_ms=%.1f", what, (time.monotonic() - started) * 1000)
                return result
            except EasyPostError as exc:
                error = self._mapped(exc, what)
            logger.info("labels.easypost.failed what=%s error=%s status=%s", what, type(error).__name__, error.status)
            if not retry or not isinstance(error, Throttled | Transient) or attempt >= self.max_attempts:
                raise error
            delay = backoff_delay(attempt, base=0.5, cap=10.0,
                                  retry_after=error.retry_after if isinstance(error, Throttled) else None)
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise error
            self.sleep(delay)

    def as_dict(self, obj: Any) -> dict[str, Any]:
        return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
