"""Remembered SKU mapping: a channel's SKU the merchant mapped once becomes an alias of the product,
so later orders with that SKU match on arrival (inventory.selectors.product_match_skus)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from accounts.models import Merchant
from core.errors import TransientConflict, ValidationFailed
from inventory.models import Product, SkuAlias
from inventory.selectors import product_map_by_sku

MAX_SKU = 128
MAX_STORE_KEY = 64


def sku_alias_remember(*, merchant: Merchant, sku: str, product: Product, store_key: str = "",
                       actor=None) -> SkuAlias:
    """Remember `sku` as another name of `product` for the store `store_key` (empty: every store). The
    same name remembered again for the same store now points at the new product (the latest answer
    wins). A product's own SKU needs no alias and is refused: it would never be used."""
    sku = (sku or "").strip()
    if not sku or len(sku) > MAX_SKU:
        raise ValidationFailed(f"An alias is 1 to {MAX_SKU} characters.", details={"field": "sku"})
    if len(store_key) > MAX_STORE_KEY:
        raise ValidationFailed("Unknown store.", details={"field": "store_key"})
    if product.merchant_id != merchant.pk:  # callers resolve products in scope; this is the belt
        raise ValidationFailed("Unknown product.", details={"field": "product"})
    if product_map_by_sku(merchant=merchant, skus=[sku]):
        raise ValidationFailed(f"{sku} is already a product's SKU; it needs no alias.", code="sku_is_a_product",
                               details={"sku": sku})
    # Uniqueness is the constraint's: a first-time alias raced by a twin request takes the row the twin
    # wrote (the second pass finds and locks it), never a 500.
    for _ in range(2):
        with transaction.atomic():
            existing = list(SkuAlias.objects.select_for_update(of=("self",)).filter(merchant=merchant, store_key=store_key)
                            .alias(sku_l=Lower("sku")).filter(sku_l=sku.lower()).order_by()[:1])
            if existing:
                alias = existing[0]
                if alias.product_id != product.pk:
                    alias.product, alias.created_by = product, actor
                    alias.save(update_fields=["product", "created_by"])
                return alias
            try:
                with transaction.atomic():
                    return SkuAlias.objects.create(merchant=merchant, sku=sku, product=product, store_key=store_key,
                                                   created_by=actor)
            except IntegrityError:
                continue
    raise TransientConflict()


def sku_alias_delete(*, merchant: Merchant, alias: SkuAlias) -> None:
    """Forget an alias: orders already matched keep their product; new ones with the SKU need mapping."""
    SkuAlias.objects.filter(merchant=merchant, pk=alias.pk).delete()
