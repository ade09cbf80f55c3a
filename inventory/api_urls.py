from core.routers import ApiRouter
from inventory import alias_api, api

router = ApiRouter()
router.register("products", api.ProductViewSet, basename="product")
router.register("locations", api.LocationViewSet, basename="location")
router.register("stock-levels", api.StockLevelViewSet, basename="stock-level")
router.register("stock-movements", api.StockMovementViewSet, basename="stock-movement")
router.register("inventory/adjustments", api.InventoryAdjustmentViewSet, basename="inventory-adjustment")
router.register("sku-aliases", alias_api.SkuAliasViewSet, basename="sku-alias")
urlpatterns = router.urls
