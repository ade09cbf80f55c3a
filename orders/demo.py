"""Demo orders for `make run`: a few hundred over the last 60 days, every channel and state.

Everything goes through the real services (ingest, fulfillment, cancel, hold, return), so the
reservations, ledger and timelines are the genuine article. Only the clock is faked: shipment
times are moved back to when they would have happened, so the analytics have a history.
Idempotent: orders that already exist are not shipped or changed again.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Merchant, User
from core.errors import ApplicationError
from inventory import selectors as inventory_selectors
from notifications.services import notification_settings_update
from orders import services
from orders.channels import MANUAL, channel_slugs
from orders.models import Order, OrderLine, Shipment
from orders.normalized import NormalizedAddress, NormalizedLine, NormalizedOrder

N_ORDERS = 320
DAYS = 60

PRICES = {
    "MUG-STONE-BLU": "18.00", "MUG-STONE-SND": "18.00", "MUG-STONE-CHR": "18.00", "MUG-ENAMEL-WHT": "12.50",
    "BOWL-RAMEN-L": "24.00", "BOWL-CEREAL": "14.00", "PLATE-DIN-27": "19.00", "PLATE-SIDE-20": "13.00",
    "TEAPOT-1L": "58.00", "KETTLE-GOOSE": "72.00", "DRIPPER-V60": "22.00", "FILTER-100": "6.50",
    "GRINDER-HAND": "49.00", "BEANS-ETH-250": "13.50", "BEANS-COL-250": "12.50", "BEANS-DEC-250": "13.00",
    "TEA-SENCHA-100": "9.50", "TEA-EARL-100": "8.50", "TEA-CHAI-100": "9.00", "INFUSER-STEEL": "5.00",
    "TOWEL-LINEN-2": "21.00", "APRON-CANVAS": "34.00", "BOARD-OAK-M": "39.00", "CANDLE-FIG": "16.00",
    "CANDLE-CEDAR": "16.00", "VASE-BUD": "15.00", "JUG-MILK-300": "17.00", "COASTER-CORK-4": "8.00",
    "SPOON-BRASS-2": "11.00", "GIFTBOX-KRAFT": "3.50", "SET-POUROVER": "39.00", "SET-MUG-PAIR": "36.00",
}
# SKUs a channel still uses that match no product (an old listing): "needs attention" orders.
LEGACY_SKUS = {"MUG-BLUE-OLD": "16.00", "beans-eth-250g": "13.50"}
# Well-stocked best sellers; the rest (some nearly sold out) sell now and then, so a few orders go short.
POPULAR = ["MUG-STONE-BLU", "MUG-ENAMEL-WHT", "FILTER-100", "BEANS-ETH-250", "INFUSER-STEEL", "COASTER-CORK-4",
           "PLATE-DIN-27", "TEA-SENCHA-100", "CANDLE-FIG", "CANDLE-CEDAR", "BOWL-CEREAL", "SPOON-BRASS-2",
           "GIFTBOX-KRAFT", "BEANS-DEC-250", "TOWEL-LINEN-2"]
MANUAL_SHARE = 0.1  # phone and wholesale orders; the registered marketplaces share the rest
NAMES = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Linus Pauling", "Marie Curie",
         "Rosalind Franklin", "Nikola Tesla", "Hedy Lamarr", "Claude Shannon", "Barbara Liskov", "Edsger Dijkstra",
         "Margaret Hamilton", "Tim Berners-Lee", "Radia Perlman", "Donald Knuth", "Frances Allen", "John Backus"]
# city, country, postcode, region (the state or province where the country's addresses name one)
CITIES = [("London", "GB", "EC1A 1BB", ""), ("Manchester", "GB", "M1 1AE", ""), ("Berlin", "DE", "10115", ""),
          ("Paris", "FR", "75001", ""), ("New York", "US", "10001", "NY"), ("Austin", "US", "78701", "TX"),
          ("Portland", "US", "97205", "OR"), ("Chicago", "US", "60601", "IL"), ("Toronto", "CA", "M5H 2N2", "ON")]
# The delivery the buyer chose at checkout, with its price; free standard delivery from 60.
SERVICES = [("Standard", ["4.95", "5.95"]), ("Express", ["9.95", "12.50"]), ("Economy", ["3.50"])]
SERVICE_WEIGHTS = [70, 20, 10]
CARRIERS = [("UPS", "1Z{:016d}"), ("USPS", "9400{:018d}"), ("DHL", "JD{:018d}"), ("Royal Mail", "RM{:09d}GB")]


def seed(*, merchant: Merchant, user: User) -> None:
    """Give the demo merchant a believable order history (runs after inventory's seeder)."""
    if Order.objects.filter(merchant=merchant, external_id__startswith="demo-").exists():
        return
    rng = random.Random(20261125)  # noqa: S311 - demo data, not security
    now = timezone.now()
    # Daily mails would flood the console in `make run`; the demo merchant reads a digest instead.
    notification_settings_update(merchant=merchant, new_order_mode="digest")
    known = inventory_selectors.product_map_by_sku(merchant=merchant, skus=list(PRICES))
    skus = [s for s in PRICES if s.lower() in known] or list(PRICES)
    titles = {sku: known[sku.lower()].title for sku in skus if sku.lower() in known}
    popular = [s for s in POPULAR if s in skus] or skus
    channels, weights = _channel_mix()
    for i in range(N_ORDERS):
        age_days = DAYS * (rng.random() ** 1.6)  # busier lately
        placed = now - timedelta(days=age_days, minutes=rng.randint(0, 59))
        channel = rng.choices(channels, weights=weights)[0]
        order = _place(merchant, user, rng, i, channel, placed, skus, popular, titles)
        if order is not None:
            _progress(merchant, user, rng, order, age_days, placed)


def _channel_mix() -> tuple[list[str], list[float]]:
    """Every registered channel (orders names none but its own): the first registered sells most."""
    marketplaces = [slug for slug in channel_slugs() if slug != MANUAL]
    shares = [1 / (k + 1) for k in range(len(marketplaces))]
    weights = [(1 - MANUAL_SHARE) * s / sum(shares) for s in shares] if marketplaces else []
    return [*marketplaces, MANUAL], [*weights, MANUAL_SHARE]


def _place(merchant, user, rng, i, channel, placed, skus, popular, titles) -> Order | None:
    lines = []
    for n in range(rng.choices([1, 2, 3, 4], weights=[50, 30, 15, 5])[0]):
        sku = rng.choice(popular if rng.random() < 0.85 else skus)
        if channel != MANUAL and rng.random() < 0.015:
            sku = rng.choice(list(LEGACY_SKUS))
        if any(li.sku == sku for li in lines):
            continue
        price = Decimal(PRICES.get(sku) or LEGACY_SKUS[sku])
        lines.append(NormalizedLine(external_id=f"{i}-{n}", sku=sku, quantity=rng.choices([1, 2, 3], [70, 22, 8])[0],
                                    unit_price=price, title=titles.get(sku) or sku.replace("-", " ").title()))
    name = rng.choice(NAMES)
    city, country, postal, region = rng.choice(CITIES)
    email = name.lower().replace(" ", ".").replace("-", "") + f"{i % 7}@example.com"
    subtotal = sum((li.unit_price * li.quantity for li in lines), Decimal("0"))
    service, prices = rng.choices(SERVICES, weights=SERVICE_WEIGHTS)[0]
    shipping = Decimal("0.00") if subtotal >= 60 and service == "Standard" else Decimal(rng.choice(prices))
    tax = (subtotal * Decimal("0.08")).quantize(Decimal("0.01"))
    if channel == MANUAL:
        try:
            order = services.order_create_manual(
                merchant=merchant, actor=user, customer_name=name, customer_email=email,
                lines=[services.ManualLine(sku=li.sku, quantity=li.quantity, unit_price=li.unit_price) for li in lines],
                shipping=shipping, tax=tax, tags=["wholesale"] if subtotal > 80 else ["phone"], shipping_address={
                    "name": name, "line1": f"{rng.randint(1, 200)} Market Street", "city": city, "region": region,
                    "postal_code": postal, "country": country},
            )
        except ApplicationError:
            return None  # not enough stock for a phone order: the merchant would not have taken it
        # The clock, faked; and the service agreed on the phone (the manual form has no field for it).
        Order.objects.filter(merchant=merchant, pk=order.pk).update(placed_at=placed, requested_service=service)
        order.refresh_from_db()
        return order
    normalized = NormalizedOrder(
        channel=channel, external_id=f"demo-{channel}-{i}", number=f"#{1001 + i}", placed_at=placed,
        channel_updated_at=placed, lines=tuple(lines), currency="USD", customer_name=name, customer_email=email,
        shipping_address=NormalizedAddress(name=name, line1=f"{rng.randint(1, 200)} High Street", city=city,
                                           region=region, postal_code=postal, country=country),
        requested_service=service,
        subtotal=subtotal, shipping=shipping, tax=tax, total=subtotal + shipping + tax, payment_status="paid",
        fulfillment_status="unfulfilled",
        raw={"demo": True, "id": f"demo-{channel}-{i}", "line_items": [
            {"sku": li.sku, "quantity": li.quantity, "price": str(li.unit_price)} for li in lines]},
    )
    # Demo orders belong to no connected store (orders knows no Integration): integration_id is None.
    return services.order_ingest(merchant=merchant, integration_id=None,
                                 normalized=normalized).order


def _progress(merchant, user, rng, order: Order, age_days: float, placed) -> None:
    """Move an order along as its age suggests: old ones shipped, a few cancelled, held or returned."""
    roll = rng.random()
    try:
        if roll < 0.05:
            if order.channel != MANUAL and rng.random() < 0.5:
                _channel_cancel(merchant, order)
            else:
                services.order_cancel(merchant=merchant, order=order, actor=user, reason="Customer changed their mind")
            return
        if age_days < 1.5:
            if roll > 0.93:
                services.order_hold(merchant=merchant, order=order, actor=user, reason="Address check")
            return
        lines = list(OrderLine.objects.filter(merchant=merchant, order=order, product__isnull=False))
        if not lines:
            return
        if order.is_short:  # ship what could be reserved; the rest waits for stock
            if age_days > 3:
                _ship(merchant, user, rng, order, [services.ShipmentLineRequest(li.pk, li.quantity_reserved)
                                                   for li in lines if li.quantity_reserved], placed)
            return
        if age_days < 4 and roll < 0.35 and sum(li.quantity for li in lines) > 1:
            first = lines[0]
            _ship(merchant, user, rng, order, [services.ShipmentLineRequest(first.pk, 1)], placed)
            return
        if age_days < 3 and roll < 0.7:
            return
        _ship(merchant, user, rng, order, [services.ShipmentLineRequest(li.pk, li.quantity_outstanding)
                                           for li in lines if li.quantity_outstanding], placed)
        if age_days > 20 and roll > 0.97:
            order.refresh_from_db()
            services.order_return(merchant=merchant, order=order, actor=user, restock=True)
    except ApplicationError:
        return  # e.g. stock ran out on a short line: it stays open, as it would in life


def _ship(merchant, user, rng, order, requests, placed) -> None:
    if not requests:
        return
    carrier, pattern = rng.choice(CARRIERS)
    shipment = services.shipment_create(merchant=merchant, order=order, lines=requests, actor=user, carrier=carrier,
                                        tracking_number=pattern.format(rng.randint(10**8, 10**9)), ship=True)
    shipped_at = min(timezone.now(), placed + timedelta(hours=rng.uniform(3, 60)))
    Shipment.objects.filter(merchant=merchant, pk=shipment.pk).update(shipped_at=shipped_at)
    Order.objects.filter(merchant=merchant, pk=order.pk).update(first_shipped_at=shipped_at)


def _channel_cancel(merchant, order: Order) -> None:
    """The shopper cancelled on the marketplace: the channel sends the order again, cancelled."""
    lines = tuple(NormalizedLine(external_id=li.external_id, sku=li.sku, quantity=li.quantity,
                                 unit_price=li.unit_price_amount, title=li.title)
                  for li in OrderLine.objects.filter(merchant=merchant, order=order))
    address = NormalizedAddress(**{k: v for k, v in order.shipping_address.items()
                                   if k in NormalizedAddress.__dataclass_fields__})
    services.order_ingest(merchant=merchant, integration_id=order.integration_id, normalized=NormalizedOrder(
        channel=order.channel, external_id=order.external_id, number=order.number, placed_at=order.placed_at,
        channel_updated_at=order.placed_at + timedelta(hours=2), lines=lines, currency=order.currency,
        customer_name=order.customer_name, customer_email=order.customer_email, shipping_address=address,
        subtotal=order.subtotal_amount, shipping=order.shipping_amount, tax=order.tax_amount,
        total=order.total_amount, payment_status="refunded", is_cancelled=True, requested_service=order.requested_service,
        raw={**order.raw_payload, "cancelled_at": (order.placed_at + timedelta(hours=2)).isoformat()},
    ))
