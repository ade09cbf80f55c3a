from django.urls import path

from labels import views

urlpatterns = [
    path("", views.ShipmentListView.as_view(), name="shipment-list"),
    path("files/<str:token>/", views.label_file_link, name="label-file-link"),
    path("<id:pk>/label/", views.ShipmentLabelView.as_view(), name="shipment-buy-label"),
    path("<id:pk>/void/", views.ShipmentVoidView.as_view(), name="shipment-void-confirm"),
    path("for-order/<id:pk>/", views.OrderLabelStartView.as_view(), name="order-label-start"),
]
