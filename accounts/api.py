from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import ApiToken, AuditEvent
from core.api import MerchantViewMixin
from core.cache import shared_cache_required
from core.errors import ValidationFailed


class TokenExchangeThrottle(AnonRateThrottle):
    """Every exchange, right or wrong, per client IP (REMOTE_ADDR, or X-Forwarded-For behind
    TRUSTED_PROXY_COUNT proxies: DRF's NUM_PROXIES). Failed ones also count against allauth's
    per-address and per-IP `login_failed` limits (accounts.services.api_token_exchange_password)."""

    rate = "20/min"

    def allow_request(self, request, view) -> bool:
        with shared_cache_required("Signing in"):
            return super().allow_request(request, view)


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(required=False, max_length=100, default="API token")
    merchant = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1,
        help_text="The merchant the token is for: required when the account belongs to several merchants.")


class TokenCreatedSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once. Send it as `Authorization: Bearer <token>`.")
    id = serializers.IntegerField()
    prefix = serializers.CharField()
    name = serializers.CharField()


class ApiTokenSerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)
    user = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "user", "created_at", "last_used_at", "revoked_at", "is_active"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class TokenExchangeView(APIView):
    """Trade an email and password for a personal API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenExchangeThrottle]

    @extend_schema(request=TokenRequestSerializer, auth=[], responses={
        201: TokenCreatedSerializer,
        400: OpenApiResponse(description="merchant_required: the account belongs to several merchants and "
                                         "`merchant` is missing; unknown_merchant: not one of the account's "
                                         "merchants (details.merchants lists them)"),
        401: OpenApiResponse(description="invalid_credentials, no_merchant"),
        403: OpenApiResponse(description="email_unverified: the address is not verified and verification is mandatory"),
        429: OpenApiResponse(description="throttled, too_many_login_attempts: too many attempts for this address "
                                         "or from this IP; Retry-After says when to try again"),
        503: OpenApiResponse(description="cache_unavailable: the shared cache that counts attempts is down"),
    })
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        token, raw = services.api_token_exchange_password(
            request=request._request, email=fields["email"], password=fields["password"], name=fields["name"],
            merchant_id=fields.get("merchant"))
        body = {"token": raw, "id": token.pk, "prefix": token.prefix, "name": token.name}
        return Response(TokenCreatedSerializer(body).data, status=status.HTTP_201_CREATED)


class ApiTokenViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The merchant's API tokens. Deleting one revokes it (it stays listed, inactive): an owner may
    revoke any token of the merchant, a staff member only their own (403 `not_owner`)."""

    serializer_class = ApiTokenSerializer

    queryset = ApiToken.objects.none()

    def get_merchant_queryset(self):
        return selectors.api_token_list(merchant=self.merchant)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: TokenCreatedSerializer})
    def create(self, request):
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = services.api_token_create(merchant=self.merchant, user=request.user, name=data.validated_data["name"])
        body = {"token": raw, "id": token.pk, "prefix": token.prefix, "name": token.name}
        return Response(TokenCreatedSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None, 403: OpenApiResponse(description="not_owner: staff revoke only their own tokens")})
    def destroy(self, request, pk=None):
        token = selectors.api_token_get(merchant=self.merchant, pk=pk)
        services.api_token_revoke(merchant=self.merchant, actor=request.user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(MerchantViewMixin, APIView):
    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "email": serializers.EmailField(),
                "merchant": inline_serializer(
                    "MeMerchant", {"id": serializers.IntegerField(), "name": serializers.CharField(),
                                   "currency": serializers.CharField()}
                ),
            },
        )
    )
    def get(self, request):
        m = self.merchant
        return Response({"email": request.user.email, "merchant": {"id": m.pk, "name": m.name, "currency": m.currency}})


SHIP_FROM_PARTS = ("name", "line1", "line2", "city", "region", "postcode", "country", "phone")


class ShipFromSerializer(serializers.Serializer):
    """core.address's shape with a phone; the rules (required fields, postcode shapes) are the service's."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    line1 = serializers.CharField(required=False, allow_blank=True, max_length=200)
    line2 = serializers.CharField(required=False, allow_blank=True, max_length=200)
    city = serializers.CharField(required=False, allow_blank=True, max_length=100)
    region = serializers.CharField(required=False, allow_blank=True, max_length=100)
    postcode = serializers.CharField(required=False, allow_blank=True, max_length=20)
    country = serializers.CharField(required=False, allow_blank=True, max_length=2)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)


class MerchantSettingsSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=200, required=False)
    currency = serializers.CharField(max_length=3, required=False)
    timezone = serializers.CharField(max_length=64, required=False)
    default_ship_by_days = serializers.IntegerField(required=False)
    label_format = serializers.ChoiceField(choices=["PDF", "PNG", "ZPL"], required=False,
                                           help_text="The file format carriers are asked for when a label is bought.")
    ship_from = ShipFromSerializer(required=False, help_text=(
        "Where parcels leave from (an inventory location's own ship-from wins for its shipments). Given in a "
        "PATCH it replaces the whole address; all fields blank clears it."))


def _settings_out(merchant) -> dict:
    address = merchant.address or {}
    return {"id": merchant.pk, "name": merchant.name, "currency": merchant.currency, "timezone": merchant.timezone,
            "default_ship_by_days": merchant.default_ship_by_days, "label_format": merchant.label_format,
            "ship_from": {part: address.get(part, "") for part in SHIP_FROM_PARTS}}


class MerchantSettingsView(MerchantViewMixin, APIView):
    """The merchant's settings: everyone in the team reads them, owners change them (403 not_owner)."""

    @extend_schema(responses={200: MerchantSettingsSerializer})
    def get(self, request):
        return Response(_settings_out(self.merchant))

    @extend_schema(request=MerchantSettingsSerializer, responses={
        200: MerchantSettingsSerializer, 403: OpenApiResponse(description="not_owner"),
        400: OpenApiResponse(description="invalid_settings: details.fields names every bad field "
                                         "(ship_from: {field: message})")})
    def patch(self, request):
        data = MerchantSettingsSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        # Only what was sent: the service locks the row and keeps every other setting as the row has it.
        changes = {key: value for key, value in data.validated_data.items() if key != "ship_from"}
        if "ship_from" in data.validated_data:
            changes["address"] = dict(data.validated_data["ship_from"])
        try:
            merchant = services.merchant_settings_patch(merchant=self.merchant, actor=request.user, changes=changes)
        except ValidationFailed as exc:  # the API's names for the fields: the address is `ship_from` here
            fields = {("ship_from" if key == "address" else key): value for key, value in exc.details.items()}
            raise ValidationFailed(exc.message, code=exc.code, details={"fields": fields})
        return Response(_settings_out(merchant))


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "occurred_at", "action", "actor_user_id", "actor_token_id", "actor_label", "ip",
                  "user_agent", "request_id", "object_type", "object_id", "object_repr", "changes"]
        read_only_fields = fields


@extend_schema_view(list=extend_schema(
    parameters=[
        OpenApiParameter("action", str, description='An action or its family: "label" finds "label.bought".'),
        OpenApiParameter("actor", str, description="Part of the actor's email or token label."),
        OpenApiParameter("from", str, description="First day (YYYY-MM-DD, the merchant's time zone)."),
        OpenApiParameter("to", str, description="Last day, inclusive."),
    ],
    responses={200: AuditEventSerializer(many=True), 403: OpenApiResponse(description="not_owner")}))
class AuditEventViewSet(MerchantViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The merchant's audit trail, newest first, for owners only (staff: 403 `not_owner`). Read only:
    nothing in the app changes or deletes an event."""

    queryset = AuditEvent.objects.none()
    serializer_class = AuditEventSerializer
    filter_backends: list = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        services.require_owner(merchant=self.merchant, actor=request.user, action="see the audit trail")

    def get_merchant_queryset(self):
        filters = selectors.AuditFilters.from_params(self.request.query_params, tz=self.merchant.timezone)
        return selectors.audit_event_list(merchant=self.merchant, filters=filters)
