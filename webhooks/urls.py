from django.urls import path

from webhooks import views

# Mounted at /webhook-events/: the dashboard. The receiver (/webhooks/<channel>/<token>/) is another prefix.
urlpatterns = [
    path("", views.WebhookEventListView.as_view(), name="webhook-event-list"),
    path("replay/", views.WebhookEventBulkReplayView.as_view(), name="webhook-event-bulk-replay"),
    path("<id:pk>/", views.WebhookEventDetailView.as_view(), name="webhook-event-detail"),
    path("<id:pk>/replay/", views.WebhookEventReplayView.as_view(), name="webhook-event-replay"),
]
