from django.urls import path

from core.routers import ApiRouter
from orders import analytics_api, api

router = ApiRouter()
router.register("orders", api.OrderViewSet, basename="order")
router.register("shipments", api.ShipmentViewSet, basename="shipment")

urlpatterns = [
    path("analytics/revenue/", analytics_api.AnalyticsRevenueView.as_view(), name="analytics-revenue"),
    path("analytics/top-skus/", analytics_api.AnalyticsTopSkusView.as_view(), name="analytics-top-skus"),
    path("analytics/fulfillment-time/", analytics_api.AnalyticsFulfillmentTimeView.as_view(), name="analytics-fulfillment-time"),
    path("analytics/unfulfilled-age/", analytics_api.AnalyticsUnfulfilledAgeView.as_view(), name="analytics-unfulfilled-age"),
    path("analytics/shipping-cost/", analytics_api.AnalyticsShippingCostView.as_view(), name="analytics-shipping-cost"),
    path("analytics/carrier-exceptions/", analytics_api.AnalyticsCarrierExceptionsView.as_view(),
         name="analytics-carrier-exceptions"),
    path("analytics/on-time-delivery/", analytics_api.AnalyticsOnTimeDeliveryView.as_view(),
         name="analytics-on-time-delivery"),
    path("analytics/short-orders/", analytics_api.AnalyticsShortOrdersView.as_view(), name="analytics-short-orders"),
    *router.urls,
]
