import logging
import time

from django.conf import settings
from django.db import DatabaseError
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.utils.html import format_html
from redis.exceptions import RedisError

from core.cache import CACHE_RETRY_AFTER_SECONDS
from core.db import is_retryable
from core.errors import ApplicationError, NotFound, TransientConflict
from core.log_context import (
    REQUEST_ID_HEADER,
    client_ip,
    log_bound,
    origin_bound,
    path_redacted,
    request_id_accepted,
    request_id_new,
)
from core.metrics import REQUEST_SECONDS

logger = logging.getLogger("core.request")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


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
        request.client_ip = client_ip(request.META, trusted_proxies=settings.TRUSTED_PROXY_COUNT)
        with log_bound(request_id=request.request_id), origin_bound(
                ip=request.client_ip, user_agent=request.headers.get("User-Agent")):
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            merchant, token = getattr(request, "merchant", None), getattr(request, "api_token", None)
            user = token.user if token is not None else getattr(request, "user", None)
            seconds = time.monotonic() - started
            route = match.route if match else None
            # Bounded labels: the route pattern (never the path), "unmatched" for a 404 that matched none.
            REQUEST_SECONDS.labels(method=request.method if request.method in _METHODS else "other", route=route or "unmatched",
                                   status=str(response.status_code)).observe(seconds)
            logger.info("http.request", extra={
                "method": request.method, "path": path_redacted(request.path, match.kwargs if match else None),
                "route": route,
                "status": response.status_code, "merchant_id": merchant.pk if merchant is not None else None,
                "user_id": user.pk if user is not None and user.is_authenticated else None,
                "token_id": token.pk if token is not None else None,
                "duration_ms": round(seconds * 1000, 1)})
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class FormPostRedirectMiddleware:
    """No dead ends: a GET (or HEAD) on a dashboard URL that only takes a form post is sent to the page that
    holds the form instead of a 405, so a reload, a bookmark or a back button after a failed post lands
    somewhere useful.

    The page is the view's `form_page_url(request, **kwargs)` when it has one; otherwise the nearest parent
    path that a page answers with GET (`/orders/7/ship/` → `/orders/7/`, `/orders/bulk/` → `/orders/`). The
    API and anything exempt from CSRF (webhook receivers, DRF views) keep their 405: their callers are
    programs, not people. Placed last in MIDDLEWARE, so it sees the view's own answer.

    A failed post to such a URL (a 4xx page: the errors beside the fields) is rendered where it was posted;
    this names the form's page in a `<meta name="form-page">` and app.js puts that address in the address
    bar (history.replaceState), so reloading shows the form's page, not a re-post. A 200 after a post (a
    confirmation step) keeps its address: it is a step forward, not a failure.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method == "POST" and not _takes_get(view_func) and _for_people(view_func):
            request.form_page_url = form_page_for(request)
        return None

    def __call__(self, request):
        response = self.get_response(request)
        if request.method == "POST":
            return _name_form_page(request, response)
        if response.status_code != 405 or request.method not in ("GET", "HEAD"):
            return response
        target = form_page_for(request)
        return redirect(target) if target else response


def _name_form_page(request, response):
    page = getattr(request, "form_page_url", None)
    if (page and 400 <= response.status_code < 500 and not response.streaming
            and response.get("Content-Type", "").startswith("text/html")):
        meta = format_html('<meta name="form-page" content="{}">', page)
        response.content = response.content.replace(b"</head>", f"{meta}\n</head>".encode(), 1)
    return response


def _takes_get(func) -> bool:
    view_class = getattr(func, "view_class", None)
    return view_class is None or hasattr(view_class, "get")


def _for_people(func) -> bool:
    """A dashboard view (not the API's or a receiver's): CSRF-protected."""
    return not getattr(func, "csrf_exempt", False)


def form_page_for(request) -> str | None:
    """Where a GET on the POST-only URL `request.path` should go (see FormPostRedirectMiddleware), or None
    when it is not a people's page or no parent page answers GET."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    if not _for_people(match.func):
        return None
    view_class = getattr(match.func, "view_class", None)
    if view_class is not None and hasattr(view_class, "form_page_url"):
        return view_class.form_page_url(request, **match.kwargs)
    path = request.path_info.rstrip("/")
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        candidate = f"{path}/"
        try:
            parent = resolve(candidate)
        except Resolver404:
            continue
        if _takes_get(parent.func) and _for_people(parent.func):
            return request.META.get("SCRIPT_NAME", "").rstrip("/") + candidate
    return None
