from django.urls import path

from webhooks.views import webhook_receive_view

urlpatterns = [
    path("<slug:channel>/<str:token>/", webhook_receive_view, name="webhook-receive"),
]
