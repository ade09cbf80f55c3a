from django.urls import path

from inventory import views

urlpatterns = [
    path("", views.InventoryListView.as_view(), name="inventory-list"),
    path("export.csv", views.LevelsExportView.as_view(), name="inventory-export"),
    path("products/new/", views.ProductCreateView.as_view(), name="inventory-product-create"),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="inventory-product"),
    path("products/<int:pk>/adjust/", views.ProductAdjustView.as_view(), name="inventory-adjust"),
    path("products/<int:pk>/transfer/", views.ProductTransferView.as_view(), name="inventory-transfer"),
    path("products/<int:pk>/edit/", views.ProductEditView.as_view(), name="inventory-product-edit"),
    path("products/<int:pk>/components/", views.ProductComponentsView.as_view(), name="inventory-product-components"),
    path("locations/", views.LocationListView.as_view(), name="inventory-locations"),
    path("locations/<int:pk>/", views.LocationUpdateView.as_view(), name="inventory-location-update"),
    path("import/", views.ImportView.as_view(), name="inventory-import"),
    path("import/<int:pk>/", views.ImportPreviewView.as_view(), name="inventory-import-preview"),
]
