from django.urls import path

from core.routers import ApiRouter
from orders import api

router = ApiRouter()
router.register("orders", api.OrderViewSet, basename="order")
router.register("shipments", api.ShipmentViewSet, basename="shipment")
router.register("sku-aliases", api.SkuAliasViewSet, basename="sku-alias")

urlpatterns = [
    path("analytics/revenue/", api.AnalyticsRevenueView.as_view(), name="analytics-revenue"),
    path("analytics/top-skus/", api.AnalyticsTopSkusView.as_view(), name="analytics-top-skus"),
    path("analytics/fulfillment-time/", api.AnalyticsFulfillmentTimeView.as_view(), name="analytics-fulfillment-time"),
    path("analytics/unfulfilled-age/", api.AnalyticsUnfulfilledAgeView.as_view(), name="analytics-unfulfilled-age"),
    path("analytics/shipping-cost/", api.AnalyticsShippingCostView.as_view(), name="analytics-shipping-cost"),
    path("analytics/short-orders/", api.AnalyticsShortOrdersView.as_view(), name="analytics-short-orders"),
    *router.urls,
]
