from django.urls import path

from notifications.views import NotificationSettingsView
from orders import alias_views, bulk_views, views

urlpatterns = [
    path("", views.OrderListView.as_view(), name="order-list"),
    path("new/", views.OrderCreateView.as_view(), name="order-create"),
    path("customers.json", views.CustomerSuggestView.as_view(), name="order-customer-suggest"),
    path("views/", views.SavedViewCreateView.as_view(), name="order-view-save"),
    path("views/<id:pk>/delete/", views.SavedViewDeleteView.as_view(), name="order-view-delete"),
    path("bulk/", bulk_views.OrderBulkView.as_view(), name="order-bulk"),
    path("bulk/<id:pk>/", bulk_views.OrderBulkJobView.as_view(), name="order-bulk-job"),
    path("sku-aliases/", alias_views.SkuAliasListView.as_view(), name="sku-alias-list"),
    path("sku-aliases/<id:pk>/delete/", alias_views.SkuAliasDeleteView.as_view(), name="sku-alias-delete"),
    path("export.csv", views.OrderExportView.as_view(), name="order-export"),
    path("analytics/", views.AnalyticsView.as_view(), name="order-analytics"),
    path("notifications/", NotificationSettingsView.as_view(), name="order-notifications"),
    path("shipments/<id:pk>/ship/", views.ShipmentShipView.as_view(), name="shipment-ship"),
    path("shipments/<id:pk>/cancel/", views.ShipmentCancelView.as_view(), name="shipment-cancel"),
    path("shipments/<id:pk>/tracking-retry/", views.ShipmentTrackingRetryView.as_view(), name="shipment-tracking-retry"),
    path("<id:pk>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("<id:pk>/<slug:action>/", views.OrderActionView.as_view(), name="order-action"),
]
