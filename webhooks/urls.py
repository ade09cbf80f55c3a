from django.urls import path

from webhooks.views import webhook_receive_view

urlpatterns = [
    path("<slug:segment>/<str:token>/", webhook_receive_view, name="webhook-receive"),
]
