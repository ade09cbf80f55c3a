"""Inventory REST API: products, locations, stock levels and movements (read only), bulk adjustments."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from core.api import CursorPagination, MerchantViewMixin
from core.errors import ValidationFailed
from core.parsing import optional_id, optional_text
from inventory import selectors, services
from inventory.models import Location, Product, StockLevel, StockMovement
from inventory.services import AdjustLine
from inventory.services._core import MAX_UNITS

MAX_ADJUSTMENTS = 1000
ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


class OldestFirstPagination(CursorPagination):
    ordering = "id"


# -- products --------------------------------------------------------------------------------------

class ComponentSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1)


class ComponentOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    product_id = serializers.IntegerField()
    quantity = serializers.IntegerField()


class ProductSerializer(serializers.ModelSerializer):
    image_url = serializers.CharField(read_only=True, help_text="An http(s) address, or empty.")
    available = serializers.SerializerMethodField()
    components = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id", "sku", "title", "barcode", "price", "cost", "image_url", "supplier", "supplier_sku", "weight_grams", "length_mm", "width_mm", "height_mm",
            "customs_description", "hs_code", "origin_country", "low_stock_threshold", "is_active", "is_bundle", "allows_backorder", "available", "components",
            "created_at", "updated_at",
        ]
        read_only_fields = fields

    def get_available(self, obj: Product) -> int:
        avail = self.context.get("available")
        if avail is not None and obj.pk in avail:
            return avail[obj.pk]
        return selectors.product_available(merchant=obj.merchant, product_id=obj.pk)

    @extend_schema_field(ComponentOutSerializer(many=True))
    def get_components(self, obj: Product) -> list[dict]:
        if not obj.is_bundle:
            return []
        loaded = self.context.get("components")
        if loaded is not None and obj.pk in loaded:
            return loaded[obj.pk]
        return [
            {"sku": c.component.sku, "product_id": c.component_id, "quantity": c.quantity}
            for c in selectors.bundle_components(merchant=obj.merchant, bundle=obj)
        ]


def _money(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False,
                                    allow_null=True, help_text=help_text)


class ProductWriteSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=255)
    barcode = serializers.CharField(max_length=64, required=False, allow_blank=True)
    price = _money("Selling price in the merchant's currency, as a string (\"12.50\"); null: not known.")
    cost = _money("Unit cost in the merchant's currency, as a string; null: not known (left out of stock value).")
    image_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    supplier = serializers.CharField(max_length=255, required=False, allow_blank=True)
    supplier_sku = serializers.CharField(max_length=128, required=False, allow_blank=True)
    weight_grams = serializers.IntegerField(min_value=0, max_value=MAX_UNITS, required=False, allow_null=True)
    length_mm = serializers.IntegerField(min_value=0, max_value=MAX_UNITS, required=False, allow_null=True)
    width_mm = serializers.IntegerField(min_value=0, max_value=MAX_UNITS, required=False, allow_null=True)
    height_mm = serializers.IntegerField(min_value=0, max_value=MAX_UNITS, required=False, allow_null=True)
    customs_description = serializers.CharField(max_length=255, required=False, allow_blank=True,
                                                help_text="On international labels' customs lines; empty: the title.")
    hs_code = serializers.CharField(max_length=16, required=False, allow_blank=True,
                                    help_text="Harmonized System code, 4 to 10 digits, dots allowed (6109.10).")
    origin_country = serializers.CharField(max_length=2, required=False, allow_blank=True,
                                           help_text="Country of manufacture, ISO 3166-1 alpha-2.")
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=MAX_UNITS, required=False)
    is_active = serializers.BooleanField(required=False)
    allows_backorder = serializers.BooleanField(required=False)
    components = ComponentSerializer(many=True, required=False, help_text="Makes the product a bundle.")
    opening_stock = serializers.IntegerField(
        min_value=0, max_value=MAX_UNITS, required=False, write_only=True,
        help_text="Units received at the default location as the product is created (same transaction).")


class ProductUpdateSerializer(ProductWriteSerializer):
    opening_stock = None  # stock changes later go through adjustments
    sku = serializers.CharField(max_length=64, required=False)
    title = serializers.CharField(max_length=255, required=False)
    components = ComponentSerializer(
        many=True, required=False, allow_empty=False,
        help_text="Replaces the bundle's components (SKU and units per bundle); the product becomes a bundle if it "
        "holds no stock. A bundle cannot contain a bundle.",
    )


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("sku", str, description="Exact SKU, case-insensitive."),
        OpenApiParameter("q", str, description="Search SKU, title and barcode."),
    ]),
    retrieve=extend_schema(parameters=[ID]),
)
class ProductViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The merchant's catalog. A bundle's `available` is computed from its components."""

    queryset = Product.objects.none()
    serializer_class = ProductSerializer
    filter_backends: list = []

    def get_merchant_queryset(self):
        params = self.request.query_params
        sku, q = optional_text(params, "sku", max_length=64), optional_text(params, "q", max_length=100)
        if q:
            qs = selectors.inventory_table(merchant=self.merchant, q=q).order_by("sku", "id")
        else:
            qs = selectors.product_list(merchant=self.merchant)
        if sku:
            qs = qs.filter(sku__iexact=sku)
        return qs

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        avail = selectors.products_available(merchant=self.merchant, product_ids=[p.pk for p in page])
        components = selectors.bundle_components_map(merchant=self.merchant,
                                                     bundle_ids=[p.pk for p in page if p.is_bundle])
        context = {"available": avail, "components": components}
        return self.get_paginated_response(ProductSerializer(page, many=True, context=context).data)

    def _components(self, items: list[dict]) -> list[tuple[int, int]]:
        products = selectors.product_resolve_skus(merchant=self.merchant, skus=[c["sku"] for c in items])
        return [(product.pk, c["quantity"]) for product, c in zip(products, items, strict=True)]

    @extend_schema(request=ProductWriteSerializer, responses={201: ProductSerializer})
    def create(self, request):
        data = ProductWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        components = self._components(fields.pop("components", []) or [])
        product = services.product_create(merchant=self.merchant, components=components or None, actor=request.user,
                                          **fields)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProductUpdateSerializer, responses={200: ProductSerializer}, parameters=[ID])
    def partial_update(self, request, pk=None):
        product = selectors.product_get(merchant=self.merchant, pk=pk)
        data = ProductUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        items = fields.pop("components", None)
        components = self._components(items) if items is not None else None
        product = services.product_update(merchant=self.merchant, product=product, components=components, **fields)
        return Response(ProductSerializer(product).data)


# -- locations -------------------------------------------------------------------------------------

class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "name", "code", "is_default", "is_active", "ship_from", "created_at"]
        read_only_fields = fields


class LocationWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    code = serializers.CharField(max_length=32, required=False, allow_blank=True)
    is_default = serializers.BooleanField(required=False, default=False)


class LocationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    code = serializers.CharField(max_length=32, required=False)
    is_default = serializers.BooleanField(required=False, help_text="true makes it the default; false is ignored.")
    ship_from = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=200), required=False,
        help_text='Where this location\'s parcels leave from: {"name", "line1", "line2", "city", "region", '
                  '"postcode", "country", "phone"}, checked by its country\'s rules; all blank: the merchant\'s.')


@extend_schema_view(retrieve=extend_schema(parameters=[ID]))
class LocationViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Warehouses and other places stock is kept. Every merchant starts with a default one."""

    queryset = Location.objects.none()
    serializer_class = LocationSerializer
    filter_backends: list = []
    pagination_class = OldestFirstPagination

    def get_merchant_queryset(self):
        return selectors.location_list(merchant=self.merchant)

    @extend_schema(request=LocationWriteSerializer, responses={201: LocationSerializer})
    def create(self, request):
        data = LocationWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        location = services.location_create(merchant=self.merchant, **data.validated_data)
        return Response(LocationSerializer(location).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LocationUpdateSerializer, responses={200: LocationSerializer}, parameters=[ID])
    def partial_update(self, request, pk=None):
        location = selectors.location_get(merchant=self.merchant, pk=pk)
        data = LocationUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        location = services.location_update(merchant=self.merchant, location=location, name=v.get("name"),
                                            code=v.get("code"), make_default=v.get("is_default", False),
                                            ship_from=v.get("ship_from"))
        return Response(LocationSerializer(location).data)


# -- stock levels and movements ----------------------------------------------------------------

class StockLevelSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    product_id = serializers.IntegerField()
    location = serializers.CharField(source="location.code")
    location_id = serializers.IntegerField()
    available = serializers.IntegerField()

    class Meta:
        model = StockLevel
        fields = ["id", "sku", "product_id", "location", "location_id", "on_hand", "reserved", "available",
                  "updated_at"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("sku", str, description="Exact SKU, case-insensitive."),
        OpenApiParameter("location", str, description="Location id or code."),
        OpenApiParameter("product", int),
    ]),
    retrieve=extend_schema(parameters=[ID]),
)
class StockLevelViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """On hand, reserved and available per product and location (read only: change stock by adjustments)."""

    queryset = StockLevel.objects.none()
    serializer_class = StockLevelSerializer
    filter_backends: list = []
    pagination_class = OldestFirstPagination

    def get_merchant_queryset(self):
        params = self.request.query_params
        location_id = None
        location_ref = optional_text(params, "location", max_length=100)
        if location_ref:
            location = selectors.location_resolver(merchant=self.merchant)(location_ref)
            location_id = location.pk if location else -1  # an unknown location has no levels
        return selectors.stock_level_list(
            merchant=self.merchant, sku=optional_text(params, "sku", max_length=64), location_id=location_id,
            product_id=optional_id(params, "product"),
        )


class StockMovementSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    location = serializers.CharField(source="location.code")
    actor = serializers.EmailField(source="actor.email", allow_null=True, default=None)

    class Meta:
        model = StockMovement
        fields = ["id", "sku", "product_id", "location", "location_id", "on_hand_delta", "reserved_delta", "reason",
                  "reference", "note", "actor", "created_at"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("sku", str), OpenApiParameter("reference", str), OpenApiParameter("product", int),
        OpenApiParameter("reason", enum=[r.value for r in StockMovement.Reason]),
    ]),
    retrieve=extend_schema(parameters=[ID]),
)
class StockMovementViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           viewsets.GenericViewSet):
    """The append-only stock ledger, newest first."""

    queryset = StockMovement.objects.none()
    serializer_class = StockMovementSerializer
    filter_backends: list = []

    def get_merchant_queryset(self):
        params = self.request.query_params
        return selectors.stock_movement_list(
            merchant=self.merchant, sku=optional_text(params, "sku", max_length=64),
            reference=optional_text(params, "reference", max_length=128),
            reason=optional_text(params, "reason", max_length=32), product_id=optional_id(params, "product"),
        )


# -- bulk adjustments --------------------------------------------------------------------------

# "adjustment" (before reasons said what happened) is still accepted and recorded as a correction.
ADJUST_REASONS = [*(r.value for r in services.ADJUST_REASONS), "stocktake", "adjustment"]


class AdjustmentSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    delta = serializers.IntegerField(required=False, min_value=-MAX_UNITS, max_value=MAX_UNITS,
                                     help_text="Change of on_hand; give this or on_hand.")
    on_hand = serializers.IntegerField(required=False, min_value=0, max_value=MAX_UNITS,
                                       help_text="Counted units (a stocktake). A count is a fact: below what is "
                                       "reserved there, the newest reservations are released and their orders go short.")
    reason = serializers.ChoiceField(
        choices=ADJUST_REASONS, required=False,
        help_text="received, found and returned add units; damaged and lost remove them; correction either way. "
        "Absent: stocktake for a count, received for a positive delta, correction for a negative one.")
    location = serializers.CharField(required=False, help_text="Location id or code; the default location if absent.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=255)

    def validate(self, attrs):
        if ("delta" in attrs) == ("on_hand" in attrs):
            raise serializers.ValidationError("Give exactly one of delta or on_hand.")
        if attrs.get("delta") == 0:
            raise serializers.ValidationError("delta cannot be 0.")
        return attrs


class AdjustmentsSerializer(serializers.Serializer):
    adjustments = AdjustmentSerializer(many=True, allow_empty=False)
    reference = serializers.CharField(required=False, allow_blank=True, max_length=128)

    def validate_adjustments(self, value):
        if len(value) > MAX_ADJUSTMENTS:
            raise serializers.ValidationError(f"At most {MAX_ADJUSTMENTS} adjustments per request.")
        return value


class AdjustmentsResultSerializer(serializers.Serializer):
    applied = serializers.IntegerField()
    levels = StockLevelSerializer(many=True)


class InventoryAdjustmentViewSet(MerchantViewMixin, viewsets.GenericViewSet):
    """Apply up to 1,000 stock adjustments at once: all of them, or none (an invalid row is named)."""

    queryset = StockMovement.objects.none()
    serializer_class = AdjustmentsSerializer
    filter_backends: list = []
    pagination_class = None

    def get_merchant_queryset(self):
        return selectors.stock_movement_list(merchant=self.merchant)

    @extend_schema(request=AdjustmentsSerializer, responses={201: AdjustmentsResultSerializer})
    def create(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        rows = body.get("adjustments")
        data = AdjustmentsSerializer(data=request.data)
        if not data.is_valid():
            errors = data.errors.get("adjustments")
            if isinstance(errors, dict | list) and isinstance(rows, list):
                pairs = sorted(errors.items()) if isinstance(errors, dict) else list(enumerate(errors))
                for i, err in pairs:
                    if err and isinstance(i, int):
                        raise ValidationFailed(
                            f"Row {i + 1} is invalid: {_flatten(err)}. Nothing was applied.",
                            details={"row": i + 1, "index": i, "sku": _sku(rows, i), "fields": err},
                        )
            raise serializers.ValidationError(data.errors)
        items = data.validated_data["adjustments"]
        products = selectors.product_resolve_skus(merchant=self.merchant, skus=[a["sku"] for a in items])
        resolve_location = selectors.location_resolver(merchant=self.merchant)
        lines = []
        for i, (a, product) in enumerate(zip(items, products, strict=True)):
            location = None
            if a.get("location"):
                location = resolve_location(a["location"])
                if location is None:
                    raise ValidationFailed(f"Row {i + 1}: unknown location {a['location']}. Nothing was applied.",
                                           details={"row": i + 1, "index": i, "location": a["location"]})
            reason = a.get("reason", "")  # blank: inventory decides (stocktake, or by the sign of delta)
            lines.append(AdjustLine(product_id=product.pk, delta=a.get("delta"), on_hand=a.get("on_hand"),
                                    location_id=location.pk if location else None, reason=reason,
                                    note=a.get("note", "")))
        ref = data.validated_data.get("reference") or f"api:{request.user.pk}"
        applied = services.stock_adjust_many(merchant=self.merchant, lines=lines, actor=request.user, reference=ref)
        pids = sorted({ln.product_id for ln in lines})
        levels = selectors.stock_level_list(merchant=self.merchant).filter(product_id__in=pids)
        return Response(AdjustmentsResultSerializer({"applied": applied, "levels": levels}).data,
                        status=status.HTTP_201_CREATED)


def _sku(rows: list, i: int) -> str | None:
    row = rows[i] if i < len(rows) else None
    return row.get("sku") if isinstance(row, dict) else None


def _flatten(err) -> str:
    if isinstance(err, dict):
        return "; ".join(f"{k}: {_flatten(v)}" if k != "non_field_errors" else _flatten(v) for k, v in err.items())
    if isinstance(err, list):
        return " ".join(_flatten(e) for e in err)
    return str(err)
