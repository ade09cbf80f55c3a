"""`make demo-store`: the Shopify fake as a store a person can connect `make run`'s dashboard to.

It serves on a fixed loopback port (DEMO_STORE_PORT, 8765 by default) with a small catalog whose SKUs are the
demo merchant's own, a few orders already waiting, and one new paid order every `--every` seconds, until
stopped with Ctrl-C. It prints what to set and type to connect it; `GET /_fake/status` shows its orders and
the fulfilments Switchboard pushed. Nothing here is a copy of Shopify: it is the tests' fake, unchanged.

    python -m tests.fakes.shopify.demo [--port 8765] [--every 5] [--backlog 3]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta

from .seed import seed_orders
from .server import ShopifyFake
from .state import ShopState

SHOP = "demo-store.myshopify.com"
CLIENT_SECRET = "shpss_demo-store-secret"  # the connect form asks for one; the demo store signs nothing with it

# Products the demo merchant of `make run` also stocks (inventory/demo.py), so the orders are ready to ship.
CATALOG = [
    ("Stoneware mug", [("Ocean blue", "MUG-STONE-BLU", "18.00"), ("Sand", "MUG-STONE-SND", "18.00")]),
    ("Enamel camping mug", [("White", "MUG-ENAMEL-WHT", "12.50")]),
    ("Paper filters, pack of 100", [("Default Title", "FILTER-100", "6.50")]),
    ("Coffee beans, Ethiopia Yirgacheffe 250 g", [("Default Title", "BEANS-ETH-250", "13.50")]),
    ("Cork coasters, set of 4", [("Default Title", "COASTER-CORK-4", "8.00")]),
]

# (first name, last name, street, city, province code, province, zip): real US places and regions.
CUSTOMERS = [
    ("Ada", "Lovelace", "12 Elm Street", "Portland", "OR", "Oregon", "97205"),
    ("Grace", "Hopper", "401 Congress Avenue", "Austin", "TX", "Texas", "78701"),
    ("Alan", "Turing", "88 Beacon Street", "Boston", "MA", "Massachusetts", "02108"),
    ("Katherine", "Johnson", "230 Peachtree Street NE", "Atlanta", "GA", "Georgia", "30303"),
    ("Claude", "Shannon", "1600 Pike Place", "Seattle", "WA", "Washington", "98101"),
    ("Hedy", "Lamarr", "350 W 34th Street", "New York", "NY", "New York", "10001"),
]


def build(fake: ShopifyFake) -> tuple[ShopState, str]:
    """The demo shop with its catalog, and a non-expiring Admin API token for it."""
    shop = fake.add_shop(SHOP, name="Demo Store")
    fake.add_app("demo-store-app", client_secret=CLIENT_SECRET)
    for title, variants in CATALOG:
        shop.add_product(title, [{"title": v, "sku": sku, "price": price, "available": 100}
                                 for v, sku, price in variants], vendor="Northwind Goods")
    return shop, fake.issue_token(SHOP, client_id="demo-store-app")


def new_order(fake: ShopifyFake, shop: ShopState, rng: random.Random, *, at: datetime | None = None) -> str:
    """One paid, unfulfilled order of one or two lines, placed now by one of CUSTOMERS; returns its name."""
    with fake.lock:
        order = seed_orders(shop, 1, start=at or datetime.now(UTC), lines=rng.choice([1, 1, 2]),
                            quantity=rng.choice([1, 1, 2]), offset=rng.randrange(100))[0]
        first, last, street, city, code, province, postcode = rng.choice(CUSTOMERS)
        email = f"{first.lower()}.{last.lower()}{order.number}@example.com"
        order.email = email
        order.customer = dict(order.customer or {}, id=order.number, email=email, first_name=first, last_name=last)
        order.shipping_address = order.billing_address = {
            "first_name": first, "last_name": last, "name": f"{first} {last}", "address1": street, "address2": "",
            "city": city, "province": province, "province_code": code, "zip": postcode, "country": "United States",
            "country_code": "US", "phone": "+1 502-459-2181", "company": None}
        return order.name


def connect_lines(fake: ShopifyFake, token: str) -> str:
    """What the person sets before `make run` and types into Integrations → Connect a Shopify store."""
    host = fake.base_url.split("://", 1)[1].split(":", 1)[0]
    return "\n".join([
        f"Demo Shopify store serving on {fake.base_url} (Ctrl-C stops it).",
        "Start Switchboard with these set (another terminal):",
        f"  export SHOPIFY_API_BASE_URL={fake.base_url_template}",
        f"  export OUTBOUND_ALLOWED_PRIVATE_HOSTS={host}",
        "  make run",
        "Then Integrations → Connect a Shopify store → Connect with your credentials:",
        f"  Shop domain:  {SHOP}",
        f"  Access token: {token}",
        f"  Client secret: {CLIENT_SECRET}",
        f"Fulfilments Switchboard pushed: {fake.base_url}/_fake/status",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_STORE_PORT", "8765")))
    parser.add_argument("--every", type=float, default=5.0, help="seconds between new orders")
    parser.add_argument("--backlog", type=int, default=3, help="orders waiting when the store starts")
    args = parser.parse_args(argv)
    rng = random.Random()  # noqa: S311 - demo orders, not security
    fake = ShopifyFake()
    shop, token = build(fake)
    now = datetime.now(UTC)
    for k in range(args.backlog):
        new_order(fake, shop, rng, at=now - timedelta(minutes=10 * (args.backlog - k)))
    fake.start(port=args.port)
    print(connect_lines(fake, token), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(args.every):
            print(f"New order {new_order(fake, shop, rng)}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
