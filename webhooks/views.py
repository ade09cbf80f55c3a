"""The public webhook endpoint: the only URL reachable without signing in. Bytes in, a status out;
everything it decides is in webhooks.services.webhook_receive."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.api import error_body
from webhooks.services import webhook_receive

logger = logging.getLogger(__name__)

_REFUSED = "The delivery could not be verified."


@csrf_exempt
@require_POST
def webhook_receive_view(request: HttpRequest, segment: str, token: str) -> JsonResponse:
    """/webhooks/<kind-or-slug>/<token>/: `segment` is the endpoint's slug (the URLs handed out, a channel's
    subscriptions among them) or its kind."""
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
        receipt = webhook_receive(segment=segment, token=token, headers=request.headers, body=body)
    except DatabaseError:
        # Nothing durable, so nothing acknowledged: the channel delivers again later.
        logger.exception("webhooks.delivery.not_stored", extra={"segment": segment[:16]})
        return JsonResponse(error_body("not_stored", "The delivery could not be stored; send it again."),
                            status=503, headers={"Retry-After": "30"})
    if receipt.status == 401:
        return JsonResponse(error_body("not_authenticated", _REFUSED), status=401)
    return JsonResponse({"ok": True, "status": receipt.code}, status=receipt.status)
