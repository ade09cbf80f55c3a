from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import health
from core.api import api_not_found
from core.metrics import metrics_view
from core.views import favicon
from integrations.views import InstallKeysView
from orders.views import HomeView
from webhooks.urls import urlpatterns as webhook_urls

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("jobs.api_urls")),
    path("", include("inventory.api_urls")),
    path("", include("orders.api_urls")),
    path("", include("integrations.api_urls")),
    path("", include("webhooks.api_urls")),
    path("", include("labels.api_urls")),
]

urlpatterns = [
    # First, and not behind an include(): the webhook receiver is the busiest URL and every pattern before it is
    # tried on each delivery (the empty-prefix includes below are scanned whole). No login: each delivery is
    # verified by its signature.
    *webhook_urls,
    # A channel's server-to-server delivery of a store's credentials (an install with no session), under
    # the public address the channels call (WEBHOOK_BASE_URL); three segments, so no webhook URL matches it.
    path("webhooks/install/<slug:channel>/keys/", InstallKeysView.as_view(), name="integration-install-keys"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/<path:rest>", api_not_found),
    # The home page lives with orders (it reads orders, stock, stores and jobs; accounts sits below them all).
    path("", HomeView.as_view(), name="dashboard"),
    path("settings/carrier-accounts/", include("labels.account_urls")),
    path("", include("accounts.urls")),
    path("jobs/", include("jobs.urls")),
    path("inventory/", include("inventory.urls")),
    path("orders/", include("orders.urls")),
    path("integrations/", include("integrations.urls")),
    path("shipments/", include("labels.urls")),
    path("label-batches/", include("labels.batch_urls")),
    path("webhook-events/", include("webhooks.dashboard_urls")),  # the dashboard; the receiver is /webhooks/<channel>/<token>/
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
