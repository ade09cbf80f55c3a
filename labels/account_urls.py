from django.urls import path

from labels import account_views

urlpatterns = [
    path("", account_views.CarrierAccountListView.as_view(), name="carrier-accounts"),
    path("new/", account_views.CarrierAccountNewView.as_view(), name="carrier-account-new"),
    path("<id:pk>/", account_views.CarrierAccountEditView.as_view(), name="carrier-account-edit"),
    path("<id:pk>/remove/", account_views.CarrierAccountRemoveView.as_view(), name="carrier-account-remove"),
]
