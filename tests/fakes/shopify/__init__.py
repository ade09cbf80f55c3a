"""An honest Shopify Admin API on loopback for the channel tests (issue 8).

Every GraphQL request is parsed and validated with graphql-core against Shopify's own published 2026-10
Admin schema, then executed by resolvers over plain Python state (`ShopState`), so a misspelled field or a
wrong input type fails here exactly as it fails on Shopify. Around it: the access-token check with the real
401, the cost-based leaky bucket with `extensions.cost` on every response, THROTTLED and MAX_COST_EXCEEDED,
the 250-item input cap, cursor pagination, the 2026-04 `@idempotent`/`changeFromQuantity` rules, the OAuth
endpoints, failure injection (429 with Retry-After, 5xx, delays) and a request log. See server.py for the
routes and what was not verifiable.

    from tests.fakes.shopify import ShopifyFake, seed_catalog, seed_orders
    with ShopifyFake() as fake:
        shop = fake.add_shop("demo-store.myshopify.com")
        seed_catalog(shop); seed_orders(shop, 1000)
        token = fake.issue_token(shop.domain)
        # point the client at fake.base_url_template ("http://127.0.0.1:PORT/{shop}")

Pytest fixtures (`shopify_fake`, `shopify_shop`, `shopify_token`, `manual_clock`) are in fixtures.py;
import them into a conftest.py to use them elsewhere.
"""

from .bulk import BulkOperation, GeneratedOrders, seed_generated_orders
from .graph import INVENTORY_REASONS
from .schema import API_VERSION, admin_schema
from .seed import order_from_rest, realworld, seed_catalog, seed_orders
from .server import DEFAULT_SCOPES, RequestRecord, ShopifyFake, oauth_query_hmac
from .state import FakeOrder, ManualClock, RealClock, ShippingLine, ShopState, gid, gid_number
from .webhooks import send_webhook, sign_webhook_body, webhook_request

__all__ = [
    "API_VERSION", "BulkOperation", "GeneratedOrders", "seed_generated_orders", "DEFAULT_SCOPES", "INVENTORY_REASONS", "FakeOrder", "ManualClock", "RealClock", "RequestRecord", "ShippingLine",
    "ShopState", "ShopifyFake", "admin_schema", "gid", "gid_number", "oauth_query_hmac", "order_from_rest",
    "realworld", "seed_catalog", "seed_orders", "send_webhook", "sign_webhook_body", "webhook_request",
]
