from django.urls import path

from integrations import views

urlpatterns = [
    path("", views.IntegrationListView.as_view(), name="integration-list"),
    path("connect/shopify/install/", views.ShopifyInstallView.as_view(), name="integration-shopify-install"),
    path("connect/<slug:channel>/", views.ConnectView.as_view(), name="integration-connect"),
    path("connect/<slug:channel>/token/", views.ConnectTokenView.as_view(), name="integration-connect-token"),
    path("shopify/callback/", views.ShopifyCallbackView.as_view(), name="integration-shopify-callback"),
    path("<id:pk>/", views.IntegrationDetailView.as_view(), name="integration-detail"),
    path("<id:pk>/disconnect/", views.IntegrationDisconnectView.as_view(), name="integration-disconnect"),
    path("<id:pk>/listings/import/", views.ListingImportView.as_view(), name="integration-listings-import"),
    path("<id:pk>/listings/<id:listing_id>/<slug:action>/", views.ListingActionView.as_view(),
         name="integration-listing-action"),
    path("<id:pk>/<slug:action>/", views.IntegrationActionView.as_view(), name="integration-action"),
]
