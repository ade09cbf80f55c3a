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


def server_error(request):
    if _wants_json(request):
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
    return render(request, "errors/500.html", status=500)
