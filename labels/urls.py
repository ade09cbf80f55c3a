from django.urls import path

from labels import views

urlpatterns = [
    path("", views.ShipmentListView.as_view(), name="shipment-list"),
    path("setup/", views.ShippingSetupView.as_view(), name="shipping-setup"),
    path("setup/packages/", views.PackagePresetCreateView.as_view(), name="package-preset-create"),
    path("setup/packages/<id:pk>/delete/", views.PackagePresetDeleteView.as_view(), name="package-preset-delete"),
    path("setup/rules/", views.ShippingRuleCreateView.as_view(), name="shipping-rule-create"),
    path("setup/rules/<id:pk>/delete/", views.ShippingRuleDeleteView.as_view(), name="shipping-rule-delete"),
]
