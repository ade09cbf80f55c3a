"""The SKU-alias API (/api/v1/sku-aliases/): remembered SKUs, inventory's SkuAlias. Stores are named by the
id the app that knows them registers (inventory.registry.alias_stores: orders, by integration id)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from core.api import MerchantViewMixin
from core.errors import NotFound
from inventory import selectors, services
from inventory.models import SkuAlias
from inventory.registry import alias_stores_get


class SkuAliasSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True, help_text="The channel's SKU (matched case-insensitively).")
    product = serializers.IntegerField(source="product_id", read_only=True)
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    integration = serializers.SerializerMethodField(help_text="The store it applies to; null for every store.")
    created_at = serializers.DateTimeField(read_only=True)

    def get_integration(self, alias) -> int | None:
        stores = alias_stores_get()
        return stores.store_of(alias.store_key or "") if stores is not None else None


class SkuAliasInput(serializers.Serializer):
    sku = serializers.CharField(max_length=128)
    product_sku = serializers.CharField(max_length=128)
    integration = serializers.IntegerField(required=False, allow_null=True, default=None,
                                           help_text="Only for orders of this store; omit for every store.")


class SkuAliasViewSet(MerchantViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Remembered SKUs: a channel's SKU that matches a product on arrival (the same as mapping an order's
    line with remember)."""

    serializer_class = SkuAliasSerializer
    filter_backends: list = []
    queryset = SkuAlias.objects.none()

    def get_merchant_queryset(self):
        return selectors.sku_alias_list(merchant=self.merchant)

    def get_object(self):
        return selectors.sku_alias_get(merchant=self.merchant, pk=self.kwargs["pk"])

    @extend_schema(request=SkuAliasInput, responses={201: SkuAliasSerializer})
    def create(self, request):
        data = SkuAliasInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        product = selectors.product_resolve_skus(merchant=self.merchant, skus=[v["product_sku"]])[0]
        stores = alias_stores_get()
        if v["integration"] is not None and (stores is None or not stores.exists(self.merchant, v["integration"])):
            raise NotFound("No such store.")
        key = stores.key(v["integration"]) if stores is not None else ""
        alias = services.sku_alias_remember(merchant=self.merchant, sku=v["sku"], product=product, store_key=key,
                                            actor=request.user)
        alias = selectors.sku_alias_get(merchant=self.merchant, pk=alias.pk)
        return Response(SkuAliasSerializer(alias).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.sku_alias_delete(merchant=self.merchant, alias=instance)
