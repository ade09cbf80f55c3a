"""The project's URLs plus one bare view, the benchmark's baseline: the same gunicorn, the same
middleware stack and the same POST body as the webhook endpoint, and no work at all."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare(request):
    request.body  # read the body as the endpoint does  # noqa: B018
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare),
    path("", include("config.urls")),
]
