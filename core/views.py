"""Error pages (JSON for the API, HTML for people) and the favicon."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from core.api import error_body


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def page_not_found(request, exception=None):
    if _wants_json(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return render(request, "errors/404.html", status=404)


def bad_request(request, exception=None):
    """Django's own 400s (too many form fields, a disallowed host...), in the error shape for the API."""
    if _wants_json(request):
        return JsonResponse(error_body("malformed_request", "The request could not be read."), status=400)
    return render(request, "errors/400.html", {"message": "The request could not be read."}, status=400)


def permission_denied(request, exception=None):
    if _wants_json(request):
        return JsonResponse(error_body("permission_denied", "You do not have permission to do this."), status=403)
    return render(request, "errors/400.html", {"message": "You do not have permission to do this."}, status=403)


def server_error(request):
    if _wants_json(request):
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
    return render(request, "errors/500.html", status=500)


_FAVICON = (settings.BASE_DIR / "static" / "favicon.svg").read_bytes()


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request):
    """/favicon.ico, which browsers and bookmarks ask for whatever the page's <link rel="icon"> says: the SVG icon."""
    return HttpResponse(_FAVICON, content_type="image/svg+xml")
