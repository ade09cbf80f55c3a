from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts import api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("api-tokens", api.ApiTokenViewSet, basename="api-token")

urlpatterns = [
    path("auth/token/", api.TokenExchangeView.as_view(), name="api-token-exchange"),
    path("me/", api.MeView.as_view(), name="api-me"),
    *router.urls,
]
