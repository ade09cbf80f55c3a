"""Integrations API: thin views over integrations.services and integrations.selectors.

Credentials are write-only: input serializers accept them, no output serializer has a field for them.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import CursorPagination, MerchantViewMixin
from core.errors import ValidationFailed
from core.parsing import parse_bool
from core.receivers import webhook_path
from integrations import selectors, services
from integrations.models import Integration, Listing


def webhook_url(request, integration: Integration) -> str:
    """Absolute: WEBHOOK_BASE_URL when set (the public address behind a proxy), else this request's host."""
    path = webhook_path(kind="channel", owner=integration)
    base = (getattr(settings, "WEBHOOK_BASE_URL", "") or "").rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


# --- output -----------------------------------------------------------------------------------------


class IntegrationSerializer(serializers.ModelSerializer):
    webhook_url = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = ["id", "channel", "account_ref", "name", "status", "webhook_url", "settings", "checkpoints", "last_success_at",
                  "last_error", "last_error_at", "last_order_seen_at", "created_at", "updated_at"]
        read_only_fields = fields

    def get_webhook_url(self, obj: Integration) -> str:
        return webhook_url(self.context["request"], obj)


class IntegrationCreatedSerializer(IntegrationSerializer):
    job = serializers.IntegerField(source="connect_job_id", read_only=True)

    class Meta(IntegrationSerializer.Meta):
        fields = [*IntegrationSerializer.Meta.fields, "job"]
        read_only_fields = fields


class ListingSerializer(serializers.ModelSerializer):
    product_sku = serializers.CharField(source="product.sku", read_only=True, default=None)

    class Meta:
        model = Listing
        fields = ["id", "integration", "external_id", "channel_ref", "sku", "title", "product", "product_sku",
                  "override_quantity", "is_push_disabled", "last_pushed_quantity", "last_pushed_at",
                  "first_push_from", "first_push_to", "first_pushed_at",
                  "channel_quantity", "error", "error_at", "refused_quantity", "created_at", "updated_at"]
        read_only_fields = fields


class ListingMatchedSerializer(ListingSerializer):
    """A listing just mapped, with what the mapping did besides (for the schema; the view adds the values)."""

    opened = serializers.IntegerField(read_only=True,
                                      help_text="Opening stock written from the store's quantity (0: none).")
    alias_remembered = serializers.BooleanField(read_only=True,
                                                help_text="The listing's SKU is now an alias for this store.")
    orders_matched = serializers.IntegerField(read_only=True,
                                              help_text="The store's waiting orders matched and reserved.")

    class Meta(ListingSerializer.Meta):
        fields = [*ListingSerializer.Meta.fields, "opened", "alias_remembered", "orders_matched"]
        read_only_fields = fields

FindingSerializer = inline_serializer("DoctorFinding", {
    "code": serializers.CharField(), "severity": serializers.ChoiceField(choices=["error", "warning", "info"]),
    "message": serializers.CharField(), "fix": serializers.CharField(),
})
DoctorSerializer = inline_serializer("DoctorReport", {"findings": FindingSerializer.__class__(many=True)})
ConnectionTestSerializer = inline_serializer("ConnectionTest", {
    "ok": serializers.BooleanField(), "shop_name": serializers.CharField(),
    "scopes": serializers.ListField(child=serializers.CharField()),
    "missing_scopes": serializers.ListField(child=serializers.CharField()),
    "locations": serializers.ListField(child=serializers.DictField()), "error": serializers.CharField(),
    "findings": serializers.ListField(child=serializers.DictField(child=serializers.CharField()),
                                      help_text="What the channel's live checks found: code, severity, message, fix."),
})
JobRefSerializer = inline_serializer("JobRef", {"job": serializers.IntegerField(), "status": serializers.CharField()})


# --- input ------------------------------------------------------------------------------------------


class IntegrationCreateInput(serializers.Serializer):
    channel = serializers.CharField(max_length=16)
    name = serializers.CharField(max_length=services.NAME_MAX)
    credentials = serializers.DictField(help_text="Write-only; the fields the channel's connect form takes "
                                                  "(see the channel's package).")


class IntegrationUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=services.NAME_MAX, required=False)
    settings = serializers.DictField(required=False, help_text=(
        "Partial: backfill_days, location_external_id, buffer_units, percent, max_quantity, zero_at_or_below, "
        "location_ids (our locations whose stock feeds this store; null or [] for all)."))
    credentials = serializers.DictField(required=False, help_text="Write-only: replaces the stored credentials.")


class ListingImportInput(serializers.Serializer):
    listing_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                        help_text="The listings to import; or all_unmatched.")
    all_unmatched = serializers.BooleanField(required=False, help_text="true: every unmatched listing of the store.")


class ListingMapInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)


class ListingPagination(CursorPagination):
    ordering = "id"


class IntegrationViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A merchant's connected stores. Credentials are accepted, never returned."""

    serializer_class = IntegrationSerializer
    pagination_class = ListingPagination
    filter_backends: list = []
    queryset = Integration.objects.none()

    def get_merchant_queryset(self):
        return selectors.integration_list(merchant=self.merchant)

    def _get(self, pk) -> Integration:
        return selectors.integration_get(merchant=self.merchant, pk=pk)

    def _render(self, integration: Integration, **kwargs) -> Response:
        return Response(IntegrationSerializer(integration, context={"request": self.request}).data, **kwargs)

    def retrieve(self, request, pk=None):
        return self._render(self._get(pk))

    @extend_schema(request=IntegrationCreateInput, responses={201: IntegrationCreatedSerializer, 400: OpenApiResponse(
        description="validation_failed: details.fields names each bad field (credentials' fields nested)")})
    def create(self, request):
        data = IntegrationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        connecting = services.integration_create(merchant=self.merchant, actor=request.user, **data.validated_data)
        integration = connecting.integration
        integration.connect_job_id = connecting.job.pk
        body = IntegrationCreatedSerializer(integration, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=IntegrationUpdateInput, responses={200: IntegrationSerializer, 409: OpenApiResponse(
        description="integration_disconnected")})
    def partial_update(self, request, pk=None):
        integration = self._get(pk)
        data = IntegrationUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self._render(services.integration_update(merchant=self.merchant, actor=request.user,
                                                        integration=integration, **data.validated_data))

    @extend_schema(request=None, responses={200: IntegrationSerializer})
    def destroy(self, request, pk=None):
        """Disconnect: syncing stops; orders and listings stay."""
        integration = self._get(pk)
        return self._render(services.integration_disconnect(merchant=self.merchant, actor=request.user,
                                                            integration=integration))

    @extend_schema(request=None, responses={200: ConnectionTestSerializer, 409: OpenApiResponse(
        description="integration_disconnected")})
    @action(detail=True, methods=["post"], url_path="test-connection")
    def test_connection(self, request, pk=None):
        result = services.integration_test_connection(merchant=self.merchant, integration=self._get(pk))
        return Response({"ok": result.ok, "shop_name": result.shop_name, "scopes": result.scopes,
                         "missing_scopes": result.missing_scopes, "locations": result.locations,
                         "error": result.error, "findings": result.findings})

    @extend_schema(request=None, responses={202: JobRefSerializer, 409: OpenApiResponse(
        description="integration_disconnected")})
    @action(detail=True, methods=["post"])
    def sync(self, request, pk=None):
        job = services.integration_sync(merchant=self.merchant, actor=request.user, integration=self._get(pk))
        job.refresh_from_db(fields=["status"])
        return Response({"job": job.pk, "status": job.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: DoctorSerializer})
    @action(detail=True, methods=["get"])
    def doctor(self, request, pk=None):
        findings = selectors.integration_doctor(merchant=self.merchant, integration=self._get(pk))
        return Response({"findings": [f.as_dict() for f in findings]})

    @extend_schema(parameters=[OpenApiParameter("matched", bool, description="true: mapped to a product; false: not.")],
                   responses={200: ListingSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def listings(self, request, pk=None):
        integration = self._get(pk)
        qs = selectors.listing_list(merchant=self.merchant, integration=integration, matched=parse_bool(request.query_params.get("matched"), field="matched"))
        paginator = ListingPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ListingSerializer(page, many=True).data)

    @extend_schema(request=ListingMapInput, responses={200: ListingMatchedSerializer, 400: OpenApiResponse(
        description="unknown_sku")})
    @action(detail=True, methods=["post"], url_path="listings/<id:listing_id>/map")
    def listing_map(self, request, pk=None, listing_id=None):
        integration = self._get(pk)
        listing = selectors.listing_get(merchant=self.merchant, integration=integration,
                                        pk=listing_id)
        data = ListingMapInput(data=request.data)
        data.is_valid(raise_exception=True)
        matched = services.listing_map(merchant=self.merchant, actor=request.user, listing=listing,
                                       sku=data.validated_data["sku"])
        return self._matched(integration, matched)

    def _matched(self, integration: Integration, matched: services.Matched, **kwargs) -> Response:
        listing = selectors.listing_get(merchant=self.merchant, integration=integration, pk=matched.listing.pk)
        return Response({**ListingSerializer(listing).data, "opened": matched.opened, "alias_remembered": matched.alias,
                         "orders_matched": matched.orders}, **kwargs)

    @extend_schema(request=None, responses={201: ListingMatchedSerializer, 400: OpenApiResponse(
        description="validation_failed (the listing has no SKU) or duplicate_sku"), 409: OpenApiResponse(
        description="listing_already_mapped")})
    @action(detail=True, methods=["post"], url_path="listings/<id:listing_id>/create-product")
    def listing_create_product(self, request, pk=None, listing_id=None):
        """A product from an unmatched listing; the store's quantity becomes its opening stock (the first
        push changes nothing at the store), and the store's orders waiting on the SKU are reserved."""
        integration = self._get(pk)
        listing = selectors.listing_get(merchant=self.merchant, integration=integration, pk=listing_id)
        matched = services.listing_create_product(merchant=self.merchant, actor=request.user, listing=listing)
        return self._matched(integration, matched, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: ListingSerializer, 409: OpenApiResponse(
        description="listing_not_refused, listing_not_pushed or integration_not_active")})
    @action(detail=True, methods=["post"], url_path="listings/<id:listing_id>/retry-push")
    def listing_push_retry(self, request, pk=None, listing_id=None):
        """Send a listing's refused quantity again (the merchant fixed it on the channel): a push of the store
        is queued; until then a refused quantity is not re-sent (only a changed one is)."""
        integration = self._get(pk)
        listing = selectors.listing_get(merchant=self.merchant, integration=integration, pk=listing_id)
        row = services.listing_push_retry(merchant=self.merchant, actor=request.user, listing=listing)
        return Response(ListingSerializer(row).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ListingImportInput, responses={202: JobRefSerializer, 400: OpenApiResponse(
        description="validation_failed: details.fields names the bad field"), 404: OpenApiResponse(
        description="a listing id that is not one of this store's listings"), 409: OpenApiResponse(
        description="integration_disconnected")})
    @action(detail=True, methods=["post"], url_path="listings/import")
    def listings_import(self, request, pk=None):
        """"Import unmatched listings as products": all of them or those chosen, as a job."""
        integration = self._get(pk)
        body = request.data if isinstance(request.data, dict) else None
        if body is None or set(body) - {"listing_ids", "all_unmatched"}:
            raise ValidationFailed("Send {\"listing_ids\": [...]} or {\"all_unmatched\": true}.",
                                   details={"fields": {"body": ["Only listing_ids or all_unmatched."]}})
        job = services.listings_import_start(merchant=self.merchant, actor=request.user, integration=integration,
                                             listing_ids=body.get("listing_ids"),
                                             all_unmatched=body.get("all_unmatched"))
        job.refresh_from_db(fields=["status"])
        return Response({"job": job.pk, "status": job.status}, status=status.HTTP_202_ACCEPTED)
