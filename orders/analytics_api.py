"""Orders analytics API: one read-only view per analytics selector, each with its own schema."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import MerchantViewMixin
from orders import selectors

RANGE_PARAMS = [OpenApiParameter("from", str, description="YYYY-MM-DD (default: 30 days ago)"),
                OpenApiParameter("to", str, description="YYYY-MM-DD, inclusive (default: today)")]


class _AnalyticsView(MerchantViewMixin, APIView):
    selector = None
    takes_range = True

    def get(self, request):
        if self.takes_range:
            rng = selectors.DateRange.from_params(request.query_params, tz=self.merchant.timezone)
            return Response(type(self).selector(merchant=self.merchant, rng=rng))
        return Response(type(self).selector(merchant=self.merchant))


def _analytics_view(name: str, selector, doc: str, takes_range: bool = True):
    schema = extend_schema(parameters=RANGE_PARAMS if takes_range else [], responses={200: dict},
                           description=doc, operation_id=f"analytics_{name}")
    def get(self, request):  # a function of its own per view, so each keeps its own schema
        return _AnalyticsView.get(self, request)

    return type(f"Analytics{name.title().replace('_', '')}View", (_AnalyticsView,),
                {"selector": staticmethod(selector), "takes_range": takes_range, "__doc__": doc, "get": schema(get)})


AnalyticsRevenueView = _analytics_view(
    "revenue", selectors.revenue_by_day, "Revenue and order count per day per channel, in the merchant's currency.")
AnalyticsTopSkusView = _analytics_view("top_skus", selectors.top_skus, "Top SKUs by units and by revenue.")
AnalyticsFulfillmentTimeView = _analytics_view(
    "fulfillment_time", selectors.fulfillment_time, "Average and 90th percentile hours from order to first shipment.")
AnalyticsUnfulfilledAgeView = _analytics_view(
    "unfulfilled_age", selectors.unfulfilled_by_age, "Open orders by age: under 1, 1-2, 2-3, over 3 days.",
    takes_range=False)
AnalyticsShippingCostView = _analytics_view(
    "shipping_cost", selectors.shipping_cost,
    "Label spend against shipping charged (label spend is 0 until labels are bought through Switchboard).")
AnalyticsCarrierExceptionsView = _analytics_view(
    "carrier_exceptions", selectors.carrier_exceptions,
    "Parcels shipped in the range that hit a carrier exception (a delivery problem), per carrier.")
AnalyticsOnTimeDeliveryView = _analytics_view(
    "on_time_delivery", selectors.on_time_delivery,
    "Parcels shipped in the range with a bought label's promise: delivered by the day shipped plus the rate's "
    "delivery days (calendar days, the merchant's own), late, still in transit, or overdue.")
AnalyticsShortOrdersView = _analytics_view(
    "short_orders", selectors.short_orders, "Orders that went short of stock in the range.")
