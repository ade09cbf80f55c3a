from django.urls import path

from jobs import views

urlpatterns = [
    path("", views.JobListView.as_view(), name="job-list"),
    path("<id:pk>/", views.JobDetailView.as_view(), name="job-detail"),
]
