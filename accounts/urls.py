from django.urls import path

from accounts import views

urlpatterns = [
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("settings/api-tokens/", views.ApiTokenCreateView.as_view(), name="api-token-create"),
    path("settings/api-tokens/<id:pk>/revoke/", views.ApiTokenRevokeView.as_view(), name="api-token-revoke"),
]
