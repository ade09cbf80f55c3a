from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import ApiToken
from core.api import MerchantViewMixin
from core.cache import shared_cache_required


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
