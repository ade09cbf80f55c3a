from django.urls import path

from accounts import api
from core.routers import ApiRouter

router = ApiRouter()
router.register("api-tokens", api.ApiTokenViewSet, basename="api-token")
router.register("audit-events", api.AuditEventViewSet, basename="audit-event")

urlpatterns = [
    path("auth/token/", api.TokenExchangeView.as_view(), name="api-token-exchange"),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("merchant/", api.MerchantSettingsView.as_view(), name="api-merchant"),
    *router.urls,
]
