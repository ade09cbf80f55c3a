from django.urls import path

from labels import setup_views, views

urlpatterns = [
    path("", views.ShipmentListView.as_view(), name="shipment-list"),
    path("files/<str:token>/", views.label_file_link, name="label-file-link"),
    path("<id:pk>/label/", views.ShipmentLabelView.as_view(), name="shipment-buy-label"),
    path("<id:pk>/void/", views.ShipmentVoidView.as_view(), name="shipment-void-confirm"),
    path("for-order/<id:pk>/", views.OrderLabelStartView.as_view(), name="order-label-start"),
    path("setup/", setup_views.ShippingSetupView.as_view(), name="shipping-setup"),
    path("setup/packages/", setup_views.PackagePresetCreateView.as_view(), name="package-preset-create"),
    path("setup/packages/<id:pk>/delete/", setup_views.PackagePresetDeleteView.as_view(), name="package-preset-delete"),
    path("setup/rules/", setup_views.ShippingRuleCreateView.as_view(), name="shipping-rule-create"),
    path("setup/rules/<id:pk>/delete/", setup_views.ShippingRuleDeleteView.as_view(), name="shipping-rule-delete"),
]
