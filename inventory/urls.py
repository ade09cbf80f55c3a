from django.urls import path

from inventory import views

urlpatterns = [
    path("", views.InventoryListView.as_view(), name="inventory-list"),
    path("products.json", views.ProductSuggestView.as_view(), name="inventory-product-suggest"),
    path("find/", views.ProductFindView.as_view(), name="inventory-product-find"),
    path("export.csv", views.LevelsExportView.as_view(), name="inventory-export"),
    path("catalog.csv", views.CatalogExportView.as_view(), name="inventory-catalog-export"),
    path("import/template/<slug:kind>.csv", views.ImportTemplateView.as_view(), name="inventory-import-template"),
    path("products/new/", views.ProductCreateView.as_view(), name="inventory-product-create"),
    path("products/<id:pk>/", views.ProductDetailView.as_view(), name="inventory-product"),
    path("products/<id:pk>/adjust/", views.ProductAdjustView.as_view(), name="inventory-adjust"),
    path("products/<id:pk>/transfer/", views.ProductTransferView.as_view(), name="inventory-transfer"),
    path("products/<id:pk>/edit/", views.ProductEditView.as_view(), name="inventory-product-edit"),
    path("products/<id:pk>/components/", views.ProductComponentsView.as_view(), name="inventory-product-components"),
    path("locations/", views.LocationListView.as_view(), name="inventory-locations"),
    path("locations/<id:pk>/", views.LocationUpdateView.as_view(), name="inventory-location-update"),
    path("import/", views.ImportView.as_view(), name="inventory-import"),
    path("import/<id:pk>/", views.ImportPreviewView.as_view(), name="inventory-import-preview"),
]
