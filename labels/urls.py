from django.urls import path

from labels import views

urlpatterns = [
    path("", views.ShipmentListView.as_view(), name="shipment-list"),
    path("<id:pk>/label/", views.ShipmentLabelView.as_view(), name="shipment-buy-label"),
    path("<id:pk>/void/", views.ShipmentVoidView.as_view(), name="shipment-void-confirm"),
    path("for-order/<id:pk>/", views.OrderLabelStartView.as_view(), name="order-label-start"),
]
