from django.urls import path

from labels import views

urlpatterns = [
    path("", views.ShipmentListView.as_view(), name="shipment-list"),
    path("files/<str:token>/", views.label_file_link, name="label-file-link"),
]
