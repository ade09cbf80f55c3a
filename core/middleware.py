import logging
import time

from django.conf import settings
from django.db import DatabaseError
from django.shortcuts import render
from redis.exceptions import RedisError

from core.cache import CACHE_RETRY_AFTER_SECONDS
from core.db import is_retryable
from core.errors import ApplicationError, NotFound, TransientConflict
from core.log_context import REQUEST_ID_HEADER, log_bound, request_id_accepted, request_id_new

logger = logging.getLogger("core.request")


class DomainErrorMiddleware:
    """Dashboard pages: a domain error that reaches the top is its own status, never a 500.

    NotFound from a selector is the ordinary 404 page; a deadlock or serialization failure that got
    past the retries is a 503 "try again" page; any other ApplicationError (a malformed query
    parameter refused by core.parsing, a bad page cursor) is a page naming the problem, with the
    error's status (400 for ValidationFailed). The shared cache being down (allauth counts sign-in
    failures there, before anything is written) is a 503 "unavailable for a moment" page too. The API
    renders these in core.api instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            return render(request, "errors/404.html", status=404)
        if isinstance(exception, DatabaseError) and is_retryable(exception):
            exception = TransientConflict()
        if isinstance(exception, TransientConflict):
            response = render(request, "errors/503.html", {"message": exception.message}, status=503)
            response["Retry-After"] = str(int(exception.retry_after or 1))
            return response
        if isinstance(exception, RedisError):
            response = render(request, "errors/503.html", {
                "title": "Unavailable for a moment",
                "message": "This needs the shared cache, which cannot be reached just now; try again shortly."},
                status=503)
            response["Retry-After"] = str(CACHE_RETRY_AFTER_SECONDS)
            return response
        if isinstance(exception, ApplicationError):
            return render(request, "errors/400.html", {"message": exception.message}, status=exception.status_code)
        return None


class RequestIdMiddleware:
    """First in the stack: every request gets an id (the trusted proxy's `X-Request-ID` when we run behind
    one, else a new one), bound for every log line and task it causes and returned in the response; one
    line per request with its route, status and duration (the path only: a query string can carry a
    token)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get(REQUEST_ID_HEADER) if settings.TRUSTED_PROXY_COUNT else None
        request.request_id = request_id_accepted(offered) or request_id_new()
        started = time.monotonic()
        with log_bound(request_id=request.request_id):
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            merchant, token = getattr(request, "merchant", None), getattr(request, "api_token", None)
            user = token.user if token is not None else getattr(request, "user", None)
            logger.info("http.request", extra={
                "method": request.method, "path": request.path, "route": match.route if match else None,
                "status": response.status_code, "merchant_id": merchant.pk if merchant is not None else None,
                "user_id": user.pk if user is not None and user.is_authenticated else None,
                "token_id": token.pk if token is not None else None,
                "duration_ms": round((time.monotonic() - started) * 1000, 1)})
        response[REQUEST_ID_HEADER] = request.request_id
        return response
