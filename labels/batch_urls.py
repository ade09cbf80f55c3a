from django.urls import path

from labels import views

urlpatterns = [
    path("", views.LabelBatchListView.as_view(), name="label-batches"),
    path("new/", views.LabelBatchCreateView.as_view(), name="label-batch-new"),
    path("<id:pk>/", views.LabelBatchDetailView.as_view(), name="label-batch-page"),
]
