"""The project's URLs plus the benchmark's two baselines, under the same gunicorn and middleware stack
with the same POST body as the webhook endpoint: a bare view that does no work at all, and the floor of
"durable before acknowledged", a view that writes the body with one INSERT (autocommit) and answers."""

from django.db import connection
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare(request):
    request.body  # read the body as the endpoint does  # noqa: B018
    return HttpResponse(b"ok", content_type="text/plain")


FLOOR_TABLE = "bench_webhook_floor"


@csrf_exempt
def insert(request):
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (body) VALUES (%s)", [request.body])
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/insert/", insert),
    path("", include("config.urls")),
]
