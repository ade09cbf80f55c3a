from django.urls import path

from labels import batch_views

urlpatterns = [
    path("", batch_views.LabelBatchListView.as_view(), name="label-batches"),
    path("new/", batch_views.LabelBatchCreateView.as_view(), name="label-batch-new"),
    path("<id:pk>/", batch_views.LabelBatchDetailView.as_view(), name="label-batch-page"),
]
