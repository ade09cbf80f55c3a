"""The inbox's public route, spliced into the root URLconf as is (config/urls.py), first and not behind an
`include()`: every delivery resolves it, and an include is one more resolver level per request."""

from django.urls import path

from webhooks.views import webhook_receive_view

urlpatterns = [
    path("webhooks/<slug:segment>/<str:token>/", webhook_receive_view, name="webhook-receive"),
]
