"""ShipStation API V2 over core.http: `API-Key` on every call (label downloads too), JSON bodies, errors
read from V2's `{"request_id", "errors": [...]}` envelope so the merchant reads ShipStation's own words.
HTTP only: no ORM. There is no official Python SDK for V2 (reference §5.3.11).

A session response hook raises the error family with ShipStation's message (as a channel's client
does), inside core.http's send, so its retries (429 honouring Retry-After, 5xx, time-outs) still apply.
Buying is the exception: `send_once`, never retried here (V2 has no idempotency key; see the adapter).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings

from core.http import AuthFailed, Budget, HttpClient, Rejected, Throttled, Transient

logger = logging.getLogger("labels.shipstation")
BUDGET = Budget(rate=200 / 60, burst=20)  # 200 requests a minute per account (§5.3.9)


class ShipStationRejected(Rejected):
    def __init__(self, message: str, *, code: str = "", status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.code = code


def _words(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", ""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], Mapping) else {}
    return str(first.get("error_code") or ""), "; ".join(
        str(e.get("message")) for e in errors or [] if isinstance(e, Mapping) and e.get("message"))


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _raise_errors(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    status = response.status_code
    if status < 400:
        return
    what = f"{response.request.method} {urlsplit(response.request.url or '').path}"
    code, message = _words(response)
    logger.info("labels.shipstation.refused status=%s code=%s", status, code)
    if status == 429:
        raise Throttled(f"{what}: 429", status=status, retry_after=_retry_after(response.headers.get("Retry-After")))
    if status in (401, 403):
        raise AuthFailed(message or f"{what}: {status}", status=status)
    if status >= 500:
        raise Transient(f"{what}: {status}", status=status)
    raise ShipStationRejected(message or f"{what}: {status}", code=code, status=status)


class ShipStationClient:
    def __init__(self, api_key: str, *, budget_key: str, timeout: float | None = None) -> None:
        self.base = settings.SHIPSTATION_API_BASE_URL.rstrip("/")
        read = timeout or 30.0
        self.http = HttpClient(budget_key=budget_key, budget=BUDGET, timeout=(min(5.0, read), read),
                               max_attempts=4, backoff_cap=10.0)
        self.headers = {"API-Key": api_key, "Accept": "application/json"}
        self.http.session.hooks["response"] = [_raise_errors]

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        return f"{self.base}{path}" + (f"?{urlencode(query)}" if query else "")

    def get(self, path: str, *, operation: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        return self._json(self.http.request("GET", self.url(path, query), operation=operation, headers=self.headers))

    def post(self, path: str, body: Any, *, operation: str, once: bool = False) -> dict[str, Any]:
        send = self.http.send_once if once else self.http.request
        return self._json(send("POST", self.url(path), operation=operation, json=body, headers=self.headers))

    def put(self, path: str, *, operation: str) -> dict[str, Any]:
        return self._json(self.http.send_once("PUT", self.url(path), operation=operation, headers=self.headers))

    def download(self, url: str) -> bytes:
        return self.http.request("GET", url, operation="download", headers={"API-Key": self.headers["API-Key"]}).content

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise Transient(f"ShipStation answered {response.status_code} with something that is not JSON") from exc
        if not isinstance(body, dict):
            raise Transient("ShipStation answered with something that is not an object")
        return body
