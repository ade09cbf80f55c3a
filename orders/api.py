"""Orders API: thin views over orders.services and orders.selectors."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import CursorPagination, MerchantViewMixin
from orders import selectors, services
from orders.carriers import CARRIERS, carrier_clean
from orders.models import Order, OrderEvent, OrderLine, OrderStatus, Shipment, ShipmentLine
from orders.services.manual import email_problem
from orders.workflow import left_to_ship, pending_in

# --- output -----------------------------------------------------------------------------------------


class OrderLineSerializer(serializers.ModelSerializer):
    unit_price = serializers.DecimalField(source="unit_price_amount", max_digits=12, decimal_places=2)
    quantity_short = serializers.IntegerField(read_only=True)
    quantity_outstanding = serializers.IntegerField(read_only=True)

    class Meta:
        model = OrderLine
        fields = ["id", "external_id", "sku", "title", "product", "quantity", "unit_price", "quantity_reserved",
                  "quantity_fulfilled", "quantity_cancelled", "quantity_outstanding", "quantity_short"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    integration = serializers.IntegerField(source="integration_id", allow_null=True, read_only=True)
    subtotal = serializers.DecimalField(source="subtotal_amount", max_digits=12, decimal_places=2, read_only=True)
    shipping = serializers.DecimalField(source="shipping_amount", max_digits=12, decimal_places=2, read_only=True)
    tax = serializers.DecimalField(source="tax_amount", max_digits=12, decimal_places=2, read_only=True)
    total = serializers.DecimalField(source="total_amount", max_digits=12, decimal_places=2, read_only=True)
    tags = serializers.SerializerMethodField()
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ["id", "number", "channel", "integration", "external_id", "status", "channel_payment_status",
                  "channel_fulfillment_status", "customer_name", "customer_email", "shipping_address", "currency",
                  "subtotal", "shipping", "tax", "total", "placed_at", "channel_updated_at", "is_short",
                  "needs_attention", "hold_reason", "tags", "notes", "lines", "created_at", "updated_at",
                  "ship_by_at", "requested_service"]
        read_only_fields = fields

    def get_tags(self, obj: Order) -> list[str]:
        return [t.name for t in obj.tag_rows.all()]  # prefetched by the selector


class ShipmentLineSerializer(serializers.ModelSerializer):
    line = serializers.IntegerField(source="order_line_id")
    sku = serializers.CharField(source="order_line.sku")
    quantity_unstocked = serializers.IntegerField(help_text=(
        "Of quantity, the units the channel said shipped that were not in stock here (not taken from stock; "
        "taking the shipment back or a return gives back only the rest). 0 for a shipment shipped from stock."))

    class Meta:
        model = ShipmentLine
        fields = ["line", "sku", "quantity", "quantity_unstocked"]
        read_only_fields = fields


class TrackingPushSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["none", "pending", "retrying", "sent", "failed"], help_text=(
        "sent: the channel has it (sent_at); failed: the channel refused it (error, in its words; retry); "
        "retrying: failed for now, tried again at next_attempt_at; pending: not sent yet; none: no channel."))
    sent_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class ShipmentSerializer(serializers.ModelSerializer):
    lines = ShipmentLineSerializer(many=True, read_only=True)
    label_cost = serializers.DecimalField(source="label_cost_amount", max_digits=12, decimal_places=2)
    tracking_url = serializers.CharField(help_text="A URL, or empty until the carrier gives one.")
    tracking_push = serializers.SerializerMethodField(help_text="Whether the tracking reached the order's channel.")

    class Meta:
        model = Shipment
        fields = ["id", "order", "status", "carrier", "service", "tracking_number", "tracking_url", "label_cost",
                  "lines", "created_at", "shipped_at", "tracking_push", "tracking_status", "tracking_status_at"]
        read_only_fields = fields

    @extend_schema_field(TrackingPushSerializer)
    def get_tracking_push(self, obj: Shipment) -> dict:
        return TrackingPushSerializer(selectors.tracking_state(obj).as_dict()).data  # annotated by the selector


class OrderEventSerializer(serializers.ModelSerializer):
    actor = serializers.EmailField(source="actor.email", allow_null=True, default=None)

    class Meta:
        model = OrderEvent
        fields = ["id", "kind", "message", "data", "actor", "created_at"]
        read_only_fields = fields


class OrderDetailSerializer(OrderSerializer):
    shipments = ShipmentSerializer(many=True, read_only=True)
    events = OrderEventSerializer(many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "shipments", "events", "raw_payload"]
        read_only_fields = fields


# --- input ------------------------------------------------------------------------------------------


class ManualLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=128)
    quantity = serializers.IntegerField(min_value=1, max_value=100000)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), default=None,
                                          allow_null=True, help_text="The product's own price when left out.")


class LooseEmailField(serializers.CharField):
    """Phone and wholesale orders carry whatever address the customer gave; only its shape is checked."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data).strip()
        if problem := email_problem(value):
            raise serializers.ValidationError(problem)
        return value.lower()


class ManualOrderInput(serializers.Serializer):
    lines = ManualLineInput(many=True, allow_empty=False, max_length=500)
    customer_email = LooseEmailField(required=False, allow_blank=True, default="", max_length=254)
    customer_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    shipping_address = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False,
        help_text="name, company, line1, line2, city, region, postal_code, country (ISO 3166-1 alpha-2), phone. "
                  "Checked by the country's rule (core/address.py): line1, city and country always; region "
                  "and postcode where the country needs them (US, CA, AU...), the postcode's shape; 400 "
                  "invalid_address with details.fields naming each field otherwise.")
    shipping = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), default=Decimal("0"))
    tax = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), default=Decimal("0"))
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)


class OrderUpdateInput(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=64, allow_blank=True), required=False)
    notes = serializers.CharField(required=False, allow_blank=True)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)


class ReturnInput(serializers.Serializer):
    restock = serializers.BooleanField(default=True, help_text="Put the returned units back on hand.")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255,
                                   help_text="Why it came back; on the order's timeline.")


class ShipmentLineInput(serializers.Serializer):
    line = serializers.IntegerField(required=False, help_text="Order line id (or give sku).")
    sku = serializers.CharField(required=False, max_length=128)
    quantity = serializers.IntegerField(min_value=1)

    def validate(self, attrs):
        if "line" not in attrs and "sku" not in attrs:
            raise serializers.ValidationError("Give the line id or its sku.")
        return attrs


class ShipmentInput(serializers.Serializer):
    lines = ShipmentLineInput(many=True, required=False,
                              help_text="Omit to ship everything still to ship.")
    carrier = serializers.CharField(required=False, allow_blank=True, default="", max_length=64, help_text=(
        "A carrier code (" + ", ".join(c.code for c in CARRIERS) + ") or its name, or \"other\" with carrier_name. "
        "The shipment stores the carrier's name; a listed carrier's tracking link is built when none is given."))
    carrier_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=64,
                                         help_text="The carrier's name, with carrier \"other\".")
    service = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    tracking_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=128)
    tracking_url = serializers.URLField(required=False, allow_blank=True, default="", max_length=500)
    ship = serializers.BooleanField(default=True, help_text="Mark shipped now (ships the stock).")


class MapSkuInput(serializers.Serializer):
    line = serializers.IntegerField()
    sku = serializers.CharField(max_length=128, help_text="SKU of the product this line is.")
    all_open_lines = serializers.BooleanField(default=True)
    remember = serializers.BooleanField(default=False, help_text="Remember the SKU as an alias of the product: "
                                        "later orders with it match on arrival.")
    remember_store_only = serializers.BooleanField(default=False, help_text="With remember: only for orders of "
                                                   "this order's store (else every store).")


class BulkInput(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False, max_length=1000, required=False,
                                help_text="Up to 1,000 order ids, done at once; or give all_matching.")
    all_matching = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False,
        help_text="Every order matching these filters (the list's query parameters: status, channel, "
                  "store, sku, tag, placed_from, placed_to, needs_attention, short, search; {} for all), "
                  "up to 20,000, as a background job: 202 with the job to follow at /api/v1/jobs/{id}/, whose "
                  "result holds done, done_orders and failed.")
    action = serializers.ChoiceField(choices=services.BULK_ACTIONS)
    tag = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255,
                                   help_text="Required for cancel and fulfill; recorded on each order.")

    def validate(self, attrs):
        if ("ids" in attrs) == ("all_matching" in attrs):
            raise serializers.ValidationError("Give either ids or all_matching.")
        return attrs


class ShipmentMarkInput(serializers.Serializer):
    carrier = serializers.CharField(required=False, allow_blank=True, default="", max_length=64, help_text=(
        "A carrier code (" + ", ".join(c.code for c in CARRIERS) + ") or its name, or \"other\" with carrier_name. "
        "The shipment stores the carrier's name; a listed carrier's tracking link is built when none is given."))
    carrier_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=64,
                                         help_text="The carrier's name, with carrier \"other\".")
    tracking_number = serializers.CharField(required=False, max_length=128)
    tracking_url = serializers.URLField(required=False, max_length=500)


# --- views ------------------------------------------------------------------------------------------


class OrderPagination(CursorPagination):
    ordering = ("-placed_at", "-id")


LIST_PARAMS = [
    OpenApiParameter("tab", enum=[slug for slug, _ in selectors.QUEUE_TABS],
                     description="The dashboard queue's tabs: awaiting (open, nothing short or unknown), on_hold, "
                                 "attention, short, shipped, cancelled, all."),
    OpenApiParameter("store", str, description='An integration id, or "manual" for orders entered here.'),
    OpenApiParameter("late", bool, description="Open orders past their ship-by time."),
    OpenApiParameter("status", enum=OrderStatus.values),
    OpenApiParameter("channel", str, description='A registered channel\'s slug, or "manual".'),
    OpenApiParameter("integration", int, deprecated=True, description="The old name of `store` (an integration "
                     "id); a different store under each name is a 400."),
    OpenApiParameter("sku", str, description="Orders with a line of this SKU (case-insensitive)."),
    OpenApiParameter("tag", str),
    OpenApiParameter("needs_attention", bool),
    OpenApiParameter("short", bool, description="Orders short of stock."),
    OpenApiParameter("placed_from", str, description="YYYY-MM-DD, inclusive."),
    OpenApiParameter("placed_to", str, description="YYYY-MM-DD, inclusive."),
    OpenApiParameter("search", str, description="Part of the number, channel reference, customer name or e-mail, city, "
                     "postcode, or a line's SKU or product title; any case. A whole e-mail address matches that "
                     "address exactly. A term of 1 or 2 characters that few orders contain is looked for among "
                     "the newest 10,000 orders only."),
]


@extend_schema_view(
    list=extend_schema(parameters=LIST_PARAMS),
    retrieve=extend_schema(responses=OrderDetailSerializer),
)
class OrderViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Orders of every channel. Create manual orders; edit tags and notes; cancel, hold, ship."""

    serializer_class = OrderSerializer
    pagination_class = OrderPagination
    filter_backends: list = []
    queryset = Order.objects.none()

    def get_merchant_queryset(self):
        if self.action == "list":
            filters = selectors.OrderFilters.from_params(self.request.query_params)
            return selectors.order_list(merchant=self.merchant, filters=filters)
        return selectors.order_list(merchant=self.merchant)

    def _detail(self, pk) -> Response:
        order = selectors.order_detail(merchant=self.merchant, pk=pk)
        return Response(OrderDetailSerializer(order).data)

    def retrieve(self, request, pk=None):
        return self._detail(pk)

    @extend_schema(request=ManualOrderInput, responses={201: OrderSerializer, 409: OpenApiResponse(
        description="out_of_stock: a line cannot be fully reserved; nothing was created.")})
    def create(self, request):
        data = ManualOrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        order = services.order_create_manual(
            merchant=self.merchant, actor=request.user,
            lines=[services.ManualLine(sku=li["sku"], quantity=li["quantity"], unit_price=li["unit_price"])
                   for li in v["lines"]],
            customer_email=v["customer_email"], customer_name=v["customer_name"], currency=v.get("currency"),
            shipping_address=v.get("shipping_address"), shipping=v["shipping"], tax=v["tax"], notes=v["notes"],
            tags=v["tags"],
        )
        order = selectors.order_list(merchant=self.merchant).get(pk=order.pk)
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OrderUpdateInput, responses=OrderSerializer)
    def partial_update(self, request, pk=None):
        order = selectors.order_get(merchant=self.merchant, pk=pk)
        data = OrderUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.order_update(merchant=self.merchant, order=order, actor=request.user, **data.validated_data)
        return Response(OrderSerializer(selectors.order_list(merchant=self.merchant).get(pk=order.pk)).data)

    def _act(self, request, pk, service, **extra) -> Response:
        order = selectors.order_get(merchant=self.merchant, pk=pk)
        service(merchant=self.merchant, order=order, actor=request.user, **extra)
        return Response(OrderSerializer(selectors.order_list(merchant=self.merchant).get(pk=order.pk)).data)

    @extend_schema(request=ReasonInput, responses={200: OrderSerializer, 409: OpenApiResponse(
        description="illegal_transition, with details.current and details.requested")})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel one order: as the bulk cancel, a `reason` is required (400 reason_required without one)
        and recorded on the order."""
        selectors.order_get(merchant=self.merchant, pk=pk)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        reason = services.confirm_reason("cancel", data.validated_data["reason"])
        return self._act(request, pk, services.order_cancel, reason=reason)

    @extend_schema(request=ReasonInput, responses={200: OrderSerializer, 409: OpenApiResponse(
        description="illegal_transition")})
    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        selectors.order_get(merchant=self.merchant, pk=pk)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(request, pk, services.order_hold, reason=data.validated_data["reason"])

    @extend_schema(request=None, responses={200: OrderSerializer, 409: OpenApiResponse(description="illegal_transition")})
    @action(detail=True, methods=["post"], url_path="release-hold")
    def release_hold(self, request, pk=None):
        return self._act(request, pk, services.order_release_hold)

    @extend_schema(request=ReturnInput, responses={200: OrderSerializer, 409: OpenApiResponse(
        description="illegal_transition")})
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        selectors.order_get(merchant=self.merchant, pk=pk)
        data = ReturnInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(request, pk, services.order_return, restock=data.validated_data["restock"],
                         reason=data.validated_data["reason"])

    @extend_schema(request=ShipmentInput, responses={201: ShipmentSerializer, 409: OpenApiResponse(
        description="illegal_transition (e.g. the order is on hold or cancelled) or out_of_stock")})
    @action(detail=True, methods=["post"])
    def shipments(self, request, pk=None):
        order = selectors.order_detail(merchant=self.merchant, pk=pk)
        data = ShipmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        lines = list(order.lines.all())
        if "lines" in v:
            requests = []
            for item in v["lines"]:
                if "line" in item:
                    line_id = item["line"]
                else:
                    match = [li for li in lines if li.sku.lower() == item["sku"].lower() and li.quantity_outstanding]
                    line_id = match[0].pk if match else -1
                requests.append(services.ShipmentLineRequest(order_line_id=line_id, quantity=item["quantity"]))
        else:  # everything left: what is outstanding less what pending shipments already hold
            left = left_to_ship(lines, pending_in(order.shipments.all()))
            requests = [services.ShipmentLineRequest(order_line_id=pk, quantity=q) for pk, q in left.items() if q > 0]
        shipment = services.shipment_create(
            merchant=self.merchant, order=order, lines=requests, actor=request.user,
            carrier=carrier_clean(v["carrier"], v["carrier_name"]),
            service=v["service"], tracking_number=v["tracking_number"], tracking_url=v["tracking_url"], ship=v["ship"],
        )
        shipment = selectors.shipment_list(merchant=self.merchant).get(pk=shipment.pk)
        return Response(ShipmentSerializer(shipment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MapSkuInput, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"], url_path="map-sku")
    def map_sku(self, request, pk=None):
        """Map an unmatched line to a product by SKU; stock is reserved for it (and, by default, for every
        open line with the same unmatched SKU)."""
        order = selectors.order_get(merchant=self.merchant, pk=pk)
        data = MapSkuInput(data=request.data)
        data.is_valid(raise_exception=True)
        line = selectors.order_line_get(merchant=self.merchant, order=order, pk=data.validated_data["line"])
        v = data.validated_data
        services.order_line_map_sku(merchant=self.merchant, line=line, product_sku=v["sku"], actor=request.user,
                                    all_open_lines=v["all_open_lines"], remember=v["remember"],
                                    remember_store_only=v["remember_store_only"])
        return Response(OrderSerializer(selectors.order_list(merchant=self.merchant).get(pk=order.pk)).data)

    @extend_schema(request=BulkInput, responses={202: inline_serializer("BulkJob", {
        "job": serializers.IntegerField(), "orders": serializers.IntegerField()}), 200: inline_serializer("BulkResult", {
        "done": serializers.ListField(child=serializers.IntegerField()),
        "done_orders": serializers.ListField(child=serializers.DictField(),
                                             help_text="{id, number, status, status_label} of each order done."),
        "failed": serializers.ListField(child=serializers.DictField(),
                                        help_text="{id, number, code, message} of every order that failed."),
    })})
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """One action on many orders (up to 1,000); each succeeds or fails on its own, every failure is listed.
        "cancel" and "fulfill" (mark fulfilled without tracking) need a `reason`, recorded on each order:
        400 reason_required without one, and nothing changes."""
        data = BulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if "all_matching" in v:
            ids = services.bulk_all_matching(merchant=self.merchant, params=v["all_matching"])
            job = services.orders_bulk_start(merchant=self.merchant, order_ids=ids, action=v["action"],
                                             actor=request.user, tag=v["tag"], reason=v["reason"])
            return Response({"job": job.pk, "orders": len(ids)}, status=status.HTTP_202_ACCEPTED)
        result = services.orders_bulk_action(merchant=self.merchant, order_ids=v["ids"], action=v["action"],
                                             actor=request.user, tag=v["tag"], reason=v["reason"])
        return Response(result)


class ShipmentViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Shipments of all orders, newest first; ship a pending one."""

    serializer_class = ShipmentSerializer
    filter_backends: list = []
    queryset = Shipment.objects.none()

    def get_merchant_queryset(self):
        return selectors.shipment_list(merchant=self.merchant)

    @extend_schema(request=ShipmentMarkInput, responses={200: ShipmentSerializer, 409: OpenApiResponse(
        description="shipment_already_shipped, illegal_transition or out_of_stock")})
    @action(detail=True, methods=["post"])
    def ship(self, request, pk=None):
        shipment = selectors.shipment_get(merchant=self.merchant, pk=pk)
        data = ShipmentMarkInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        carrier = carrier_clean(v.pop("carrier"), v.pop("carrier_name"))
        services.shipment_mark_shipped(merchant=self.merchant, shipment=shipment, actor=request.user,
                                       carrier=carrier or None, **v)
        return Response(ShipmentSerializer(self.get_queryset().get(pk=shipment.pk)).data)

    @extend_schema(request=None, responses={204: None, 409: OpenApiResponse(
        description="shipment_already_shipped: a shipment that has left cannot be cancelled")})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a pending shipment: its units are left to ship again (no stock moves: none had shipped)."""
        shipment = selectors.shipment_get(merchant=self.merchant, pk=pk)
        services.shipment_cancel(merchant=self.merchant, shipment=shipment, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: ShipmentSerializer, 409: OpenApiResponse(
        description="tracking_sent (the channel has it) or no_tracking_push (no channel to tell)")})
    @action(detail=True, methods=["post"], url_path="tracking-retry")
    def tracking_retry(self, request, pk=None):
        """Send the shipment's tracking to its channel again now (after the channel refused it)."""
        shipment = selectors.shipment_get(merchant=self.merchant, pk=pk)
        services.tracking_outbox_retry_now(merchant=self.merchant, shipment=shipment)
        return Response(ShipmentSerializer(self.get_queryset().get(pk=shipment.pk)).data,
                        status=status.HTTP_202_ACCEPTED)

