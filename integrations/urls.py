from django.urls import path

from integrations import views

urlpatterns = [
    path("", views.IntegrationListView.as_view(), name="integration-list"),
    path("connect/<slug:channel>/", views.ConnectView.as_view(), name="integration-connect"),
    path("connect/<slug:channel>/token/", views.ConnectTokenView.as_view(), name="integration-connect-token"),
    path("connect/<slug:channel>/install/", views.InstallView.as_view(), name="integration-install"),
    path("connect/<slug:channel>/callback/", views.InstallCallbackView.as_view(), name="integration-install-callback"),
    path("<id:pk>/", views.IntegrationDetailView.as_view(), name="integration-detail"),
    path("<id:pk>/disconnect/", views.IntegrationDisconnectView.as_view(), name="integration-disconnect"),
    path("<id:pk>/listings/import/", views.ListingImportView.as_view(), name="integration-listings-import"),
    path("<id:pk>/listings/<id:listing_id>/<slug:action>/", views.ListingActionView.as_view(),
         name="integration-listing-action"),
    path("<id:pk>/<slug:action>/", views.IntegrationActionView.as_view(), name="integration-action"),
]
