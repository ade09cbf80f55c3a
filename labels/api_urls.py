from django.urls import path

from core.routers import ApiRouter
from labels import api

router = ApiRouter()
router.register("carrier-accounts", api.CarrierAccountViewSet, basename="carrier-account")
router.register("label-batches", api.LabelBatchViewSet, basename="label-batch")
router.register("package-presets", api.PackagePresetViewSet, basename="package-preset")
router.register("shipping-rules", api.ShippingRuleViewSet, basename="shipping-rule")

urlpatterns = [
    path("shipments/<id:pk>/rates/", api.ShipmentRatesView.as_view(), name="shipment-rates"),
    path("shipments/<id:pk>/label/", api.ShipmentLabelView.as_view(), name="shipment-label"),
    path("shipments/<id:pk>/label/link/", api.ShipmentLabelLinkView.as_view(), name="shipment-label-link"),
    path("shipments/<id:pk>/void/", api.ShipmentVoidView.as_view(), name="shipment-void"),
    path("orders/<id:pk>/packing-slip/", api.OrderPackingSlipView.as_view(), name="order-packing-slip"),
    path("packing-slips/", api.PackingSlipsView.as_view(), name="packing-slips"),
    path("pick-lists/", api.PickListView.as_view(), name="pick-lists"),
    *router.urls,
]
