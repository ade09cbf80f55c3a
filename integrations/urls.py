from django.urls import path

from integrations import views

urlpatterns = [path("", views.IntegrationListView.as_view(), name="integration-list")]
