from django.urls import path

from labels import views

urlpatterns = [
    path("", views.CarrierAccountListView.as_view(), name="carrier-accounts"),
    path("new/", views.CarrierAccountNewView.as_view(), name="carrier-account-new"),
    path("<id:pk>/", views.CarrierAccountEditView.as_view(), name="carrier-account-edit"),
    path("<id:pk>/remove/", views.CarrierAccountRemoveView.as_view(), name="carrier-account-remove"),
]
