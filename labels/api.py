"""Labels API: carrier accounts (credentials write-only), a shipment's rates, its label bought, fetched
and voided. Thin views over labels.services and labels.selectors."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import MerchantViewMixin
from core.errors import NotFound
from labels import selectors, services
from labels.models import CarrierAccount, LabelBatch, LabelRate, PackagePreset, ShippingRule
from labels.registry import carrier_packages
from labels.services import files, paperwork
from orders.api import ShipmentSerializer
from orders.models import Order, Shipment
from orders.selectors import orders as order_selectors


def stored_file_response(stored: files.StoredFile) -> FileResponse:
    """A private file streamed from storage (disk or S3), never cached by anything in between."""
    response = FileResponse(files.stored_open(stored.file), content_type=stored.content_type, as_attachment=False,
                            filename=stored.filename)
    response["Cache-Control"] = "private, no-store"
    return response


class CarrierAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = CarrierAccount
        fields = ["id", "carrier", "name", "status", "last_error", "created_at", "updated_at"]
        read_only_fields = fields


class CredentialsInput(serializers.Serializer):
    api_key = serializers.CharField(max_length=200, write_only=True)


class CarrierAccountCreateInput(serializers.Serializer):
    carrier = serializers.ChoiceField(choices=[])
    name = serializers.CharField(max_length=120)
    credentials = CredentialsInput(help_text="Write-only: tested with the carrier before the account is saved.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["carrier"].choices = list(carrier_packages.keys())


class CarrierAccountTestInput(serializers.Serializer):
    carrier = serializers.ChoiceField(choices=[])
    credentials = CredentialsInput()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["carrier"].choices = list(carrier_packages.keys())


class CarrierAccountUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    credentials = CredentialsInput(required=False, help_text="Write-only: replaces the stored credentials once tested.")


ConnectionTestSerializer = inline_serializer("CarrierConnectionTest", {
    "ok": serializers.BooleanField(), "account_name": serializers.CharField()})


class CarrierAccountViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                            viewsets.GenericViewSet):
    """The merchant's carrier accounts. Credentials are accepted, never returned; owners change them."""

    serializer_class = CarrierAccountSerializer
    filter_backends: list = []
    queryset = CarrierAccount.objects.none()

    def get_merchant_queryset(self):
        return selectors.carrier_account_list(merchant=self.merchant)

    def retrieve(self, request, pk=None):
        return Response(CarrierAccountSerializer(selectors.carrier_account_get(merchant=self.merchant, pk=pk)).data)

    @extend_schema(request=CarrierAccountCreateInput, responses={201: CarrierAccountSerializer, 400: OpenApiResponse(
        description="validation_failed or carrier_refused (the carrier's words)"), 503: OpenApiResponse(
        description="carrier_unavailable")})
    def create(self, request):
        data = CarrierAccountCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.carrier_account_create(merchant=self.merchant, actor=request.user, **data.validated_data)
        return Response(CarrierAccountSerializer(account).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CarrierAccountUpdateInput, responses={200: CarrierAccountSerializer})
    def partial_update(self, request, pk=None):
        account = selectors.carrier_account_get(merchant=self.merchant, pk=pk)
        data = CarrierAccountUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.carrier_account_update(merchant=self.merchant, actor=request.user, account=account,
                                                  **data.validated_data)
        return Response(CarrierAccountSerializer(account).data)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, pk=None):
        """Disconnect: no more rates or labels from it; its labels stay, its credentials are forgotten."""
        account = selectors.carrier_account_get(merchant=self.merchant, pk=pk)
        services.carrier_account_disconnect(merchant=self.merchant, actor=request.user, account=account)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=CarrierAccountTestInput, responses={200: ConnectionTestSerializer, 400: OpenApiResponse(
        description="carrier_refused (the carrier's words)")})
    @action(detail=False, methods=["post"], url_path="test-connection")
    def test_connection(self, request):
        """Try credentials before saving them: nothing is stored."""
        data = CarrierAccountTestInput(data=request.data)
        data.is_valid(raise_exception=True)
        info = services.carrier_account_test(**data.validated_data)
        return Response({"ok": True, "account_name": info.account_name})


class RateSerializer(serializers.ModelSerializer):
    carrier_account = serializers.IntegerField(source="carrier_account_id")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        model = LabelRate
        fields = ["id", "carrier", "service", "amount", "currency", "delivery_days", "carrier_account"]
        read_only_fields = fields


RatesSerializer = inline_serializer("ShipmentRates", {
    "rates": RateSerializer(many=True),
    "errors": inline_serializer("RateError", {"carrier_account": serializers.IntegerField(),
                                              "message": serializers.CharField()}, many=True),
})


PACKAGE_PRESET_HELP = "One of /api/v1/package-presets/: the parcel's dimensions and its empty weight added; " \
                      "absent or null: the products alone (their weight and dimensions)."


class RatesInput(serializers.Serializer):
    package_preset_id = serializers.IntegerField(min_value=1, required=False, allow_null=True,
                                                 help_text=PACKAGE_PRESET_HELP)


RULE_HELP = ('"cheapest", "fastest" or "service:<carrier service>" (the cheapest rate of that service, e.g. '
             '"service:Priority"); absent: the merchant\'s shipping rule for the order\'s channel and country '
             '(/api/v1/shipping-rules/), else the cheapest.')


class LabelBuyInput(serializers.Serializer):
    rate_id = serializers.IntegerField(min_value=1, required=False)
    rule = serializers.CharField(max_length=140, required=False, help_text=RULE_HELP)
    package_preset_id = serializers.IntegerField(
        min_value=1, required=False, allow_null=True,
        help_text=PACKAGE_PRESET_HELP + " With a rate_id it must be the package the rate was quoted for.")

    def validate(self, attrs):
        if "rate_id" in attrs and "rule" in attrs:
            raise serializers.ValidationError("Give a rate_id or a rule, not both.")
        return attrs


def _shipment_out(merchant, pk: int) -> dict:
    return ShipmentSerializer(order_selectors.shipment_list(merchant=merchant).get(pk=pk)).data


class ShipmentActionView(MerchantViewMixin, APIView):
    """A view acting on one of the merchant's shipments (its queryset tells the isolation guard which)."""

    queryset = Shipment.objects.none()

    def get_merchant_queryset(self):
        return order_selectors.shipment_list(merchant=self.merchant)


class ShipmentRatesView(ShipmentActionView):
    @extend_schema(request=RatesInput, responses={200: RatesSerializer, 404: OpenApiResponse(
        description="package_preset_not_found"), 409: OpenApiResponse(
        description="shipment_already_shipped or no_carrier_account")})
    def post(self, request, pk: int):
        """Every carrier account's rates for the shipment (in the package chosen), at once; a carrier's
        reason beside them."""
        shipment = order_selectors.shipment_get(merchant=self.merchant, pk=pk)
        data = RatesInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.shipment_rates(merchant=self.merchant, shipment=shipment,
                                         package_preset_id=data.validated_data.get("package_preset_id"))
        return Response({"rates": RateSerializer(result.rates, many=True).data, "errors": result.errors})


class PackagePresetSerializer(serializers.ModelSerializer):
    class Meta:
        model = PackagePreset
        fields = ["id", "name", "length_mm", "width_mm", "height_mm", "empty_weight_grams", "created_at",
                  "updated_at"]
        read_only_fields = fields


class PackagePresetInput(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    length_mm = serializers.IntegerField(min_value=1, max_value=3000)
    width_mm = serializers.IntegerField(min_value=1, max_value=3000)
    height_mm = serializers.IntegerField(min_value=1, max_value=3000)
    empty_weight_grams = serializers.IntegerField(min_value=0, max_value=70000, default=0)


class OwnerEditedViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                         viewsets.GenericViewSet):
    """A merchant's short settings list (packages, shipping rules): everyone reads it, owners change it
    (the services refuse anyone else: 403 not_owner). A subclass names its serializers, selectors and
    services; the views stay these four."""

    filter_backends: list = []
    input_class: type[serializers.Serializer]
    object_kw: str  # the services' keyword for the object changed ("preset", "shipping_rule")
    list_selector = get_selector = create_service = update_service = delete_service = None

    def get_merchant_queryset(self):
        return self.list_selector(merchant=self.merchant)

    def _out(self, obj, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.serializer_class(obj).data, status=status_code)

    def retrieve(self, request, pk=None):
        return self._out(self.get_selector(merchant=self.merchant, pk=pk))

    def create(self, request):
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        obj = self.create_service(merchant=self.merchant, actor=request.user, **data.validated_data)
        return self._out(obj, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        obj = self.get_selector(merchant=self.merchant, pk=pk)
        data = self.input_class(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        return self._out(self.update_service(merchant=self.merchant, actor=request.user,
                                             **{self.object_kw: obj}, **data.validated_data))

    def destroy(self, request, pk=None):
        obj = self.get_selector(merchant=self.merchant, pk=pk)
        self.delete_service(merchant=self.merchant, actor=request.user, **{self.object_kw: obj})
        return Response(status=status.HTTP_204_NO_CONTENT)


def owner_edited_schema(output, input_class, duplicate_code: str):
    """The OpenAPI description of an OwnerEditedViewSet's writes."""
    refused = {403: OpenApiResponse(description="not_owner"), 409: OpenApiResponse(description=duplicate_code)}
    return extend_schema_view(
        create=extend_schema(request=input_class, responses={201: output, **refused}),
        partial_update=extend_schema(request=input_class, responses={200: output, **refused}),
        destroy=extend_schema(request=None, responses={204: None, 403: refused[403]}))


@owner_edited_schema(PackagePresetSerializer, PackagePresetInput, "duplicate_package_preset")
class PackagePresetViewSet(OwnerEditedViewSet):
    """The boxes and mailers the merchant packs into. Owners change them; staff read and choose them."""

    serializer_class = PackagePresetSerializer
    queryset = PackagePreset.objects.none()
    input_class = PackagePresetInput
    object_kw = "preset"
    list_selector = staticmethod(selectors.package_preset_list)
    get_selector = staticmethod(selectors.package_preset_get)
    create_service = staticmethod(services.package_preset_create)
    update_service = staticmethod(services.package_preset_update)
    delete_service = staticmethod(services.package_preset_delete)


class ShippingRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShippingRule
        fields = ["id", "channel", "country", "rule", "created_at", "updated_at"]
        read_only_fields = fields


class ShippingRuleInput(serializers.Serializer):
    channel = serializers.CharField(max_length=16, required=False, allow_blank=True,
                                    help_text="A channel's slug (\"manual\" included); blank: any channel.")
    country = serializers.CharField(max_length=2, required=False, allow_blank=True,
                                    help_text="Destination, ISO 3166-1 alpha-2; blank: anywhere.")
    rule = serializers.CharField(max_length=140, help_text='"cheapest", "fastest" or "service:<carrier service>".')


@owner_edited_schema(ShippingRuleSerializer, ShippingRuleInput, "duplicate_shipping_rule")
class ShippingRuleViewSet(OwnerEditedViewSet):
    """How a rate is chosen when none is picked, per channel and/or destination country (the most
    specific wins; both blank: the default). Owners change them; staff read them."""

    serializer_class = ShippingRuleSerializer
    queryset = ShippingRule.objects.none()
    input_class = ShippingRuleInput
    object_kw = "shipping_rule"
    list_selector = staticmethod(selectors.shipping_rule_list)
    get_selector = staticmethod(selectors.shipping_rule_get)
    create_service = staticmethod(services.shipping_rule_create)
    update_service = staticmethod(services.shipping_rule_update)
    delete_service = staticmethod(services.shipping_rule_delete)


class ShipmentLabelView(ShipmentActionView):
    @extend_schema(request=LabelBuyInput, responses={200: ShipmentSerializer, 400: OpenApiResponse(
        description="carrier_refused (the carrier's words)"), 503: OpenApiResponse(
        description="carrier_unavailable: recorded; trying again never buys a second label")})
    def post(self, request, pk: int):
        """Buy the label (a rate from /rates/, a rule, or neither: the merchant's shipping rules) and ship
        the shipment; exactly once."""
        shipment = order_selectors.shipment_get(merchant=self.merchant, pk=pk)
        data = LabelBuyInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.label_buy(merchant=self.merchant, actor=request.user, shipment=shipment, **data.validated_data)
        return Response(_shipment_out(self.merchant, shipment.pk))

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(description="The label file")})
    def get(self, request, pk: int):
        """The label file, to the merchant that bought it only (another merchant's shipment is 404)."""
        shipment = order_selectors.shipment_get(merchant=self.merchant, pk=pk)
        return stored_file_response(files.label_stored(selectors.label_bought(merchant=self.merchant,
                                                                              shipment=shipment)))


FileLinkSerializer = inline_serializer("FileLink", {"url": serializers.URLField(),
                                                    "expires_at": serializers.DateTimeField()})


def _link_out(link: files.FileLink) -> dict:
    return {"url": link.url, "expires_at": link.expires_at}


class ShipmentLabelLinkView(ShipmentActionView):
    @extend_schema(responses={200: FileLinkSerializer})
    def get(self, request, pk: int):
        """A short-lived link to the label file (LABEL_LINK_SECONDS) for a printer or a browser tab that
        cannot send our credentials: S3's presigned URL, or a signed link of ours on local disk."""
        shipment = order_selectors.shipment_get(merchant=self.merchant, pk=pk)
        label = selectors.label_bought(merchant=self.merchant, shipment=shipment)
        return Response(_link_out(files.file_link(merchant=self.merchant, kind="label", pk=label.pk,
                                                  stored=files.label_stored(label),
                                                  base_url=request.build_absolute_uri("/"))))


class ShipmentVoidView(ShipmentActionView):
    @extend_schema(request=None, responses={200: ShipmentSerializer, 409: OpenApiResponse(
        description="no_label or void_refused (the carrier's words)")})
    def post(self, request, pk: int):
        """Void the label at the carrier: the shipment is pending again and its stock back on hand."""
        shipment = order_selectors.shipment_get(merchant=self.merchant, pk=pk)
        services.label_void(merchant=self.merchant, actor=request.user, shipment=shipment)
        return Response(_shipment_out(self.merchant, shipment.pk))


class LabelBatchSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="job.status")
    progress = serializers.SerializerMethodField()
    merged_pdf_url = serializers.SerializerMethodField(help_text="Every PDF label of the batch in one file.")
    labels_zip_url = serializers.SerializerMethodField(
        help_text="The PNG and ZPL labels (they cannot be merged into a PDF), one file each, in a zip.")
    results = serializers.ListField(child=inline_serializer("LabelBatchResult", {
        "order_id": serializers.IntegerField(), "ok": serializers.BooleanField(),
        "shipment_id": serializers.IntegerField(allow_null=True), "tracking_number": serializers.CharField(),
        "error": serializers.CharField()}))

    class Meta:
        model = LabelBatch
        fields = ["id", "status", "progress", "rule", "order_ids", "results", "merged_pdf_url", "labels_zip_url",
                  "created_at"]
        read_only_fields = fields

    def get_progress(self, obj: LabelBatch) -> dict:
        return {"done": obj.job.progress_done, "total": obj.job.progress_total}

    def get_merged_pdf_url(self, obj: LabelBatch) -> str | None:
        """A short-lived link (as a label's): S3's presigned URL, or a signed link of ours on disk."""
        if not obj.merged_pdf:
            return None
        return files.file_link(merchant=obj.merchant, kind="batch", pk=obj.pk, stored=files.batch_stored(obj),
                               base_url=self.context["request"].build_absolute_uri("/")).url

    def get_labels_zip_url(self, obj: LabelBatch) -> str | None:
        if not obj.labels_zip:
            return None
        return self.context["request"].build_absolute_uri(f"/api/v1/label-batches/{obj.pk}/labels-zip/")


class LabelBatchInput(serializers.Serializer):
    order_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=500)
    rule = serializers.CharField(max_length=140, required=False, help_text=RULE_HELP)


class LabelBatchViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Labels for many orders at once: a background job, one result per order, one merged PDF."""

    serializer_class = LabelBatchSerializer
    filter_backends: list = []
    queryset = LabelBatch.objects.none()

    def get_merchant_queryset(self):
        return selectors.label_batch_list(merchant=self.merchant)

    def retrieve(self, request, pk=None):
        batch = selectors.label_batch_get(merchant=self.merchant, pk=pk)
        return Response(LabelBatchSerializer(batch, context={"request": request}).data)

    @extend_schema(request=LabelBatchInput, responses={202: LabelBatchSerializer})
    def create(self, request):
        data = LabelBatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        batch = services.label_batch_create(merchant=self.merchant, actor=request.user, **data.validated_data)
        batch = selectors.label_batch_get(merchant=self.merchant, pk=batch.pk)
        return Response(LabelBatchSerializer(batch, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(description="Every label of the batch")})
    @action(detail=True, methods=["get"], url_path="merged-pdf")
    def merged_pdf(self, request, pk=None):
        batch = selectors.label_batch_get(merchant=self.merchant, pk=pk)
        return stored_file_response(files.batch_stored(batch))

    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(
        description="The batch's PNG and ZPL labels, a file per label named <order number>-<shipment id>")})
    @action(detail=True, methods=["get"], url_path="labels-zip")
    def labels_zip(self, request, pk=None):
        batch = selectors.label_batch_get(merchant=self.merchant, pk=pk)
        if not batch.labels_zip:
            raise NotFound("This batch has no PNG or ZPL labels.")
        response = FileResponse(files.stored_open(batch.labels_zip), content_type="application/zip",
                                filename=f"labels-batch-{batch.pk}.zip")
        response["Cache-Control"] = "private, no-store"
        return response


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


class OrderPackingSlipView(MerchantViewMixin, APIView):
    queryset = Order.objects.none()

    def get_merchant_queryset(self):
        return Order.objects.filter(merchant=self.merchant)

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(description="The packing slip")})
    def get(self, request, pk: int):
        """The order's packing slip: ship-to, lines and a Code128 barcode of the order number."""
        return _pdf(paperwork.packing_slips(merchant=self.merchant, order_ids=[pk]), f"packing-slip-{pk}.pdf")


class OrdersInput(serializers.Serializer):
    order_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=500)


class PackingSlipsView(MerchantViewMixin, APIView):
    @extend_schema(request=OrdersInput, responses={(200, "application/pdf"): OpenApiResponse(
        description="One packing slip per order, in the order given")})
    def post(self, request):
        data = OrdersInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _pdf(paperwork.packing_slips(merchant=self.merchant, **data.validated_data), "packing-slips.pdf")


class PickListView(MerchantViewMixin, APIView):
    @extend_schema(request=OrdersInput, responses={(200, "application/pdf"): OpenApiResponse(
        description="Units to pick, summed by SKU and location, sorted by location then SKU")})
    def post(self, request):
        data = OrdersInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _pdf(paperwork.pick_list(merchant=self.merchant, **data.validated_data), "pick-list.pdf")
