"""An honest WooCommerce store on loopback for the channel tests (issue 15).

The REST API under `/wp-json/wc/v3/` with WooCommerce's own authentication rules (Basic only over TLS,
OAuth 1.0a one-legged signatures verified over plain HTTP, timestamp window, nonce reuse refused), its
error bodies, WordPress's collection rules and headers, batches with their 100-object limit and per-item
errors, stock that is ignored while `manage_stock` is off, order notes, the Shipment Tracking extension
(optional), and webhooks: the synchronous creation ping, signed deliveries for every change, disabling after
the 7th failure in a row. See server.py for the contract and what was not verifiable.

    from tests.fakes.woocommerce import WooCommerceFake
    with WooCommerceFake(timezone="America/New_York") as fake:
        key = fake.add_key()
        mug = fake.store.add_product("MUG-1", stock_quantity=5)
        fake.place_order([(mug, 2)])
        # point the client at fake.base_url (the store URL) with key.consumer_key / key.consumer_secret

Pytest fixtures (`woo_fake`, `woo_https_fake`, `woo_key`, `manual_clock`) are in fixtures.py; import them
into a conftest.py to use them elsewhere.
"""

from .realworld import REALWORLD_DIR, realworld
from .server import API, BATCH_LIMIT, Delivery, RequestRecord, WcError, WooCommerceFake
from .state import ORDER_STATUSES, WC_DATE, ApiKey, StoreState, Webhook
from .webhooks import encode_payload, ping_request, send_webhook, sign_webhook_body, webhook_request

__all__ = [
    "API", "BATCH_LIMIT", "ORDER_STATUSES", "REALWORLD_DIR", "WC_DATE", "ApiKey", "Delivery", "RequestRecord", "StoreState",
    "WcError", "Webhook", "WooCommerceFake", "encode_payload", "ping_request", "realworld", "send_webhook",
    "sign_webhook_body", "webhook_request",
]
