"""Demo catalog for `make run`: a homeware shop with two locations, a bundle and a few items running low.

Idempotent: products that already exist are left alone (and so is their stock).
"""

from __future__ import annotations

from decimal import Decimal

from accounts.models import Merchant, User
from inventory import selectors, services
from inventory.models import Location, Product

# sku, title, barcode, weight g, (l, w, h) mm, low-stock threshold, units in the warehouse, units in the shop
CATALOG = [
    ("MUG-STONE-BLU", "Stoneware mug, ocean blue", "5060412340011", 380, (120, 90, 100), 10, 140, 12),
    ("MUG-STONE-SND", "Stoneware mug, sand", "5060412340028", 380, (120, 90, 100), 10, 96, 8),
    ("MUG-STONE-CHR", "Stoneware mug, charcoal", "5060412340035", 380, (120, 90, 100), 10, 6, 2),
    ("MUG-ENAMEL-WHT", "Enamel camping mug, white", "5060412340042", 160, (110, 85, 80), 15, 220, 0),
    ("BOWL-RAMEN-L", "Ramen bowl, large", "5060412340059", 720, (200, 200, 95), 8, 48, 6),
    ("BOWL-CEREAL", "Cereal bowl", "5060412340066", 410, (160, 160, 70), 12, 75, 10),
    ("PLATE-DIN-27", "Dinner plate 27 cm", "5060412340073", 690, (270, 270, 25), 12, 132, 0),
    ("PLATE-SIDE-20", "Side plate 20 cm", "5060412340080", 430, (200, 200, 20), 12, 9, 3),
    ("TEAPOT-1L", "Cast-iron teapot 1 l", "5060412340097", 1450, (190, 160, 140), 4, 22, 2),
    ("KETTLE-GOOSE", "Gooseneck pour-over kettle", "5060412340103", 980, (300, 150, 180), 4, 3, 1),
    ("DRIPPER-V60", "Ceramic pour-over dripper", "5060412340110", 420, (140, 120, 90), 6, 35, 4),
    ("FILTER-100", "Paper filters, pack of 100", "5060412340127", 120, (150, 110, 40), 20, 310, 25),
    ("GRINDER-HAND", "Hand coffee grinder", "5060412340134", 650, (200, 60, 60), 5, 14, 0),
    ("BEANS-ETH-250", "Coffee beans, Ethiopia Yirgacheffe 250 g", "5060412340141", 260, (180, 90, 60), 25, 180, 20),
    ("BEANS-COL-250", "Coffee beans, Colombia Huila 250 g", "5060412340158", 260, (180, 90, 60), 25, 16, 4),
    ("BEANS-DEC-250", "Coffee beans, Swiss-water decaf 250 g", "5060412340165", 260, (180, 90, 60), 15, 44, 0),
    ("TEA-SENCHA-100", "Loose tea, sencha 100 g", "5060412340172", 120, (120, 80, 50), 15, 90, 10),
    ("TEA-EARL-100", "Loose tea, Earl Grey 100 g", "5060412340189", 120, (120, 80, 50), 15, 64, 6),
    ("TEA-CHAI-100", "Loose tea, masala chai 100 g", "5060412340196", 120, (120, 80, 50), 15, 0, 0),
    ("INFUSER-STEEL", "Stainless tea infuser", "5060412340202", 40, (70, 50, 50), 10, 260, 30),
    ("TOWEL-LINEN-2", "Linen tea towels, set of 2", "5060412340219", 180, (250, 200, 20), 10, 58, 8),
    ("APRON-CANVAS", "Canvas apron", "5060412340226", 340, (300, 250, 30), 5, 27, 3),
    ("BOARD-OAK-M", "Oak serving board, medium", "5060412340233", 900, (400, 220, 20), 5, 19, 2),
    ("CANDLE-FIG", "Soy candle, fig leaf", "5060412340240", 310, (90, 90, 100), 12, 88, 14),
    ("CANDLE-CEDAR", "Soy candle, cedar", "5060412340257", 310, (90, 90, 100), 12, 71, 9),
    ("VASE-BUD", "Bud vase, speckled", "5060412340264", 220, (60, 60, 140), 6, 33, 5),
    ("JUG-MILK-300", "Milk jug 300 ml", "5060412340271", 260, (110, 80, 95), 8, 41, 4),
    ("COASTER-CORK-4", "Cork coasters, set of 4", "5060412340288", 60, (100, 100, 20), 20, 400, 40),
    ("SPOON-BRASS-2", "Brass coffee spoons, set of 2", "5060412340295", 50, (130, 40, 20), 10, 120, 0),
    ("GIFTBOX-KRAFT", "Kraft gift box", "5060412340301", 90, (300, 220, 110), 30, 180, 0),
]

# Selling price by product weight class, cost at about 40% of it: enough for manual orders to fill in a
# price and for the inventory page to show stock value and margin. A few have no cost yet, as in life.
def _price_and_cost(sku: str, grams: int) -> tuple[Decimal, Decimal | None]:
    price = Decimal(max(6, round(grams / 40) + 8)) - Decimal("0.05")
    cost = None if sku.startswith(("APRON", "VASE")) else (price * Decimal("0.4")).quantize(Decimal("0.01"))
    return price, cost


BUNDLES = [
    ("SET-POUROVER", "Pour-over starter set", [("DRIPPER-V60", 1), ("FILTER-100", 1), ("BEANS-ETH-250", 1)]),
    ("SET-MUG-PAIR", "Mug pair, ocean blue", [("MUG-STONE-BLU", 2), ("GIFTBOX-KRAFT", 1)]),
]


def seed(*, merchant: Merchant, user: User) -> None:
    """Give the demo merchant a believable catalog, a shop location and a little history."""
    main = services.location_create_default(merchant=merchant)
    shop = Location.objects.filter(merchant=merchant, code__iexact="SHOP").first() or services.location_create(
        merchant=merchant, name="Retail shop", code="SHOP"
    )
    existing = selectors.product_map_by_sku(merchant=merchant, skus=[c[0] for c in CATALOG] + [b[0] for b in BUNDLES])
    products: dict[str, Product] = {}
    for sku, title, barcode, grams, (length, width, height), threshold, at_main, at_shop in CATALOG:
        if sku.lower() in existing:
            products[sku] = existing[sku.lower()]
            continue
        price, cost = _price_and_cost(sku, grams)
        product = services.product_create(
            merchant=merchant, sku=sku, title=title, barcode=barcode, weight_grams=grams, length_mm=length,
            width_mm=width, height_mm=height, low_stock_threshold=threshold, price=price, cost=cost,
        )
        products[sku] = product
        if at_main:
            services.stock_adjust(merchant=merchant, product_id=product.pk, delta=at_main + at_shop, actor=user,
                                  reason="received", location_id=main.pk, reference="demo:opening-stock",
                                  note="Opening stock")
        if at_shop:
            services.stock_transfer(merchant=merchant, product_id=product.pk, from_location_id=main.pk,
                                    to_location_id=shop.pk, quantity=at_shop, actor=user, note="Shop shelves")
    for sku, title, parts in BUNDLES:
        if sku.lower() in existing:
            continue
        services.product_create(
            merchant=merchant, sku=sku, title=title,
            components=[(products[c].pk, qty) for c, qty in parts if c in products],
        )
    if not existing:  # first run only: a stocktake correction so the history shows one
        services.stock_set_count(merchant=merchant, product_id=products["CANDLE-FIG"].pk, on_hand=86,
                                 location_id=main.pk, actor=user, note="Two broken in the move")
