"""Error pages: JSON for the API, HTML for people."""

from django.http import JsonResponse
from django.shortcuts import render

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
