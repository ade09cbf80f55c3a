from django.urls import path

from webhooks import dashboard

# Mounted at /webhook-events/: the dashboard. The receiver (/webhooks/<channel>/<token>/) is another prefix.
urlpatterns = [
    path("", dashboard.WebhookEventListView.as_view(), name="webhook-event-list"),
    path("replay/", dashboard.WebhookEventBulkReplayView.as_view(), name="webhook-event-bulk-replay"),
    path("<id:pk>/", dashboard.WebhookEventDetailView.as_view(), name="webhook-event-detail"),
    path("<id:pk>/replay/", dashboard.WebhookEventReplayView.as_view(), name="webhook-event-replay"),
]
