"""The public webhook endpoint: the only URL reachable without signing in. Bytes in, a status out;
everything it decides is in webhooks.services.webhook_receive."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from functools import lru_cache

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.api import error_body
from webhooks.services import webhook_receive

logger = logging.getLogger(__name__)

_REFUSED = "The delivery could not be verified."
_ALLOWED = "POST"

# The answers to a stored, duplicate or handshake delivery, written once: building a JsonResponse (json.dumps
# of the same two keys) on every delivery cost ~30 µs of the web process's CPU (BENCHMARKS.md "Webhook inbox").
_ANSWERS: dict[str, bytes] = {}


def _answer(code: str, status: int) -> HttpResponse:
    content = _ANSWERS.get(code)
    if content is None:
        content = _ANSWERS[code] = json.dumps({"ok": True, "status": code}).encode()
    return HttpResponse(content, status=status, content_type="application/json")


@lru_cache(maxsize=256)
def _meta_key(name: str) -> str:
    """The WSGI environ's key of the header `name` (any case, `-` or `_`), as HttpHeaders parses it back."""
    key = name.upper().replace("-", "_")
    return key if key in _UNPREFIXED else f"HTTP_{key}"


_UNPREFIXED = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})


class _MetaHeaders(Mapping[str, str]):
    """The request's headers for the receivers, read from the WSGI environ one name at a time: the same answers
    as `request.headers` (names in any case, `-` or `_`), each lookup one dict read instead of Django's
    case-insensitive mapping (a lower-casing and two calls per lookup; receipt reads ~20 of them per delivery).
    Iterating (a receiver looking for a name it cannot spell exactly) gives the names as HttpHeaders does."""

    __slots__ = ("_meta",)

    def __init__(self, meta: Mapping[str, str]):
        self._meta = meta

    def __getitem__(self, name: str) -> str:
        return self._meta[_meta_key(name)]

    def get(self, name: str, default=None):
        return self._meta.get(_meta_key(name), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _meta_key(name) in self._meta

    def __iter__(self) -> Iterator[str]:
        for key in self._meta:
            if key.startswith("HTTP_") or key in _UNPREFIXED:
                yield key.removeprefix("HTTP_").replace("_", "-").title()

    def __len__(self) -> int:
        return sum(1 for _ in self)


@csrf_exempt
def webhook_receive_view(request: HttpRequest, segment: str, token: str) -> HttpResponse:
    """/webhooks/<kind-or-slug>/<token>/: `segment` is the endpoint's slug (the URLs handed out, a channel's
    subscriptions among them) or its kind. POST only: anything else is a 405 in the error shape with `Allow`
    (CSRF-exempt, so FormPostRedirectMiddleware leaves it a 405: the callers are programs)."""
    if request.method != "POST":
        return JsonResponse(error_body("method_not_allowed", f"This address takes {_ALLOWED} only, not "
                                       f"{request.method[:16]}."), status=405, headers={"Allow": _ALLOWED})
    limit = int(getattr(settings, "WEBHOOK_MAX_BODY_BYTES", 2 * 1024 * 1024))
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:  # refused before a byte of it is read
        return JsonResponse(error_body("payload_too_large", f"The body is larger than {limit} bytes."), status=413)
    body = request.body
    if len(body) > limit:
        return JsonResponse(error_body("payload_too_large", f"The body is larger than {limit} bytes."), status=413)
    try:
        receipt = webhook_receive(segment=segment, token=token, headers=_MetaHeaders(request.META), body=body)
    except DatabaseError:
        # Nothing durable, so nothing acknowledged: the channel delivers again later.
        logger.exception("webhooks.delivery.not_stored", extra={"segment": segment[:16]})
        return JsonResponse(error_body("not_stored", "The delivery could not be stored; send it again."),
                            status=503, headers={"Retry-After": "30"})
    if receipt.status == 401:
        return JsonResponse(error_body("not_authenticated", _REFUSED), status=401)
    return _answer(receipt.code, receipt.status)
