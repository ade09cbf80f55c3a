from django.db import DatabaseError
from django.shortcuts import render
from redis.exceptions import RedisError

from core.cache import CACHE_RETRY_AFTER_SECONDS
from core.db import is_retryable
from core.errors import ApplicationError, NotFound, TransientConflict


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
