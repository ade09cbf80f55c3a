"""The webhook inbox's test kit: a connected Shopify store per merchant and signed deliveries sent
through the public URL, exactly as Shopify sends them (tests/fakes/shopify/webhooks.py)."""

from __future__ import annotations

import json
import uuid

import pytest

from accounts.tenancy import tenant_scope
from core.receivers import webhook_path
from tests.fakes.shopify.webhooks import webhook_request
from tests.integrations.helpers import CREDENTIALS, make_integration

SECRET = CREDENTIALS["client_secret"]
SHOP = CREDENTIALS["shop_domain"]


def url_for(integration) -> str:
    """The store's inbox address, as the connect flow hands it to the channel (its endpoint made on first use);
    remembered on the object, so a test that takes the database away can still post to it."""
    if getattr(integration, "_test_inbox_path", None) is None:
        with tenant_scope(integration.merchant_id):
            integration._test_inbox_path = webhook_path(kind="channel", owner=integration)
    return integration._test_inbox_path


def token_of(integration) -> str:
    return url_for(integration).rstrip("/").rsplit("/", 1)[1]


def deliver(client, integration, topic: str, body, *, secret: str = SECRET, shop: str = SHOP,
            drop: tuple[str, ...] = (), tamper=None, **options):
    """POST one signed delivery; `drop` removes headers, `tamper(raw) -> raw` changes the body after signing."""
    raw, headers = webhook_request(topic=topic, body=body, secret=secret, shop_domain=shop, **options)
    if tamper is not None:
        raw = tamper(raw)
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()
            if name not in drop and name != "Content-Type"}
    return client.post(url_for(integration), data=raw, content_type="application/json", **meta)


def order_body(order_id: int = 5566778899, *, name: str = "#1042", updated_at: str = "2026-03-02T10:15:03-05:00",
               quantity: int = 2, cancelled: bool = False, sku: str = "MUG-BLU-12") -> dict:
    return {
        "id": order_id, "name": name, "email": "ada@example.test",
        "created_at": "2026-03-02T10:15:00-05:00", "updated_at": updated_at,
        "cancelled_at": "2026-03-02T11:00:00-05:00" if cancelled else None,
        "currency": "USD", "subtotal_price": f"{24.95 * quantity:.2f}", "total_tax": "4.00",
        "total_price": f"{24.95 * quantity + 14:.2f}", "financial_status": "paid", "fulfillment_status": None,
        "line_items": [{"id": 1300001, "variant_id": 4400001, "sku": sku, "title": "Mug", "name": "Mug - Blue",
                        "quantity": quantity, "price": "24.95"}],
        "shipping_lines": [{"title": "Standard", "price": "10.00"}],
        "shipping_address": {"name": "Ada Lovelace", "address1": "1 Example St", "city": "Springfield",
                             "province_code": "OR", "zip": "97477", "country_code": "US"},
        "customer": {"id": 4242, "email": "ada@example.test", "first_name": "Ada", "last_name": "Lovelace"},
    }


def new_event_id() -> str:
    return str(uuid.uuid4())


def raw_json(body) -> bytes:
    return json.dumps(body).encode()


@pytest.fixture
def shop_a(merchant_a):
    with tenant_scope(merchant_a.merchant):
        store = make_integration(merchant_a.merchant, name="A's shop")
    url_for(store)  # its endpoint exists before the first delivery, as after connecting
    return store


@pytest.fixture
def shop_b(merchant_b):
    with tenant_scope(merchant_b.merchant):
        store = make_integration(merchant_b.merchant, name="B's shop",
                                 credentials={**CREDENTIALS, "shop_domain": "b-shop.myshopify.com",
                                              "client_secret": "shpss_b_secret"})
    url_for(store)
    return store


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Deliveries inside the test's transaction: run what would run after commit (the processing task,
    eagerly in tests) as each request ends."""
    def post(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return deliver(*args, **kwargs)
    return post
