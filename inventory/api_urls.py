from rest_framework.routers import DefaultRouter

from inventory import api

router = DefaultRouter()
router.include_root_view = False
router.register("products", api.ProductViewSet, basename="product")
router.register("locations", api.LocationViewSet, basename="location")
router.register("stock-levels", api.StockLevelViewSet, basename="stock-level")
router.register("stock-movements", api.StockMovementViewSet, basename="stock-movement")
router.register("inventory/adjustments", api.InventoryAdjustmentViewSet, basename="inventory-adjustment")
urlpatterns = router.urls
