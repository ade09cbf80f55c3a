"""Opening stock: the first truth of a product that has none yet.

A product with no stock movement has no quantity of ours: pushing its 0 to a store would wipe the
store's real count (52 -> 0 at the shop). When a store's listing is first matched to such a product,
the store's quantity becomes the product's opening stock, one ledger movement with reason `opening`
whose reference names the store. A product with any movement keeps our truth.
"""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.models import Merchant, User
from inventory.models import Product, StockMovement
from inventory.selectors import location_get, products_without_stock_history
from inventory.services.adjust import AdjustLine, stock_adjust_many

logger = logging.getLogger(__name__)


def product_has_stock_history(*, merchant: Merchant, product_id: int) -> bool:
    """Do we hold a truth for the product: a stock movement ever (received, counted, reserved, opened...) or
    a unit on hand or reserved? (inventory.selectors.products_without_stock_history, the one rule.)"""
    return not products_without_stock_history(merchant=merchant, product_ids=[product_id])


@transaction.atomic
def stock_opening(*, merchant: Merchant, product_id: int, quantity: int, reference: str, note: str = "",
                  location_id: int | None = None, actor: User | None = None) -> int:
    """Give a product without stock history `quantity` units at `location_id` (the default location when
    None) as its opening stock; returns the units written, 0 when the product already has a history (our
    truth stands), is a bundle (its components hold the stock) or `quantity` is not positive.

    The product row is locked first, so two stores matching the same new product at once open it once:
    the second sees the first's movement and writes nothing.
    """
    product = Product.objects.select_for_update(of=("self",)).filter(merchant=merchant, pk=product_id).first()
    if product is None or product.is_bundle or not isinstance(quantity, int) or quantity <= 0:
        return 0
    if product_has_stock_history(merchant=merchant, product_id=product_id):
        return 0
    if location_id is not None:
        location_get(merchant=merchant, pk=location_id)  # LocationNotFound for a location not the merchant's
    stock_adjust_many(merchant=merchant, actor=actor, reference=reference[:128], lines=[
        AdjustLine(product_id=product_id, delta=quantity, location_id=location_id, reason=StockMovement.Reason.OPENING,
                   note=note[:255])])
    logger.info("inventory.stock.opened", extra={"merchant_id": merchant.pk, "product_id": product_id,
                                                 "quantity": quantity, "reference": reference})
    return quantity
