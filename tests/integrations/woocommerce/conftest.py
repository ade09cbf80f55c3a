"""The WooCommerce fake's fixtures, and clients pointed at it (the store URL is the fake's)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
import requests

from core.http import HttpClient
from integrations.channels.woocommerce.adapter import WooCommerceAdapter
from integrations.channels.woocommerce.client import BUDGET, WooCommerceClient
from integrations.models import Integration
from tests.fakes.woocommerce import ApiKey, WooCommerceFake
from tests.fakes.woocommerce.fixtures import woo_fake, woo_https_fake, woo_key, woo_receiver  # noqa: F401
from tests.inventory.helpers import make_product


@pytest.fixture
def make_client():
    """`make_client(fake, key, sleep=...)`: a client on the fake with its store URL and the key's credentials.
    Over TLS the session trusts the fake's own certificate; `sleep` records the backoff instead of waiting."""

    def make(fake, key, *, sleep=None, max_attempts=None, store_url=None):
        session = requests.Session()
        if fake.ca_bundle:
            # requests lets REQUESTS_CA_BUNDLE from the environment override a session's own `verify`.
            session.trust_env = False
            session.verify = fake.ca_bundle
        timing = {"sleep": sleep} if sleep is not None else {}
        http = HttpClient(budget_key=f"test:{uuid.uuid4()}", budget=BUDGET, backoff_base=0.01, backoff_cap=0.05,
                          max_attempts=max_attempts, session=session, **timing)
        return WooCommerceClient({"store_url": store_url or fake.base_url, "consumer_key": key.consumer_key,
                                  "consumer_secret": key.consumer_secret}, budget_key=http.budget_key, http=http)

    return make


@pytest.fixture
def make_adapter(make_client):
    """`make_adapter(fake, key, credentials=...)`: the WooCommerce adapter on `make_client`'s transport (the
    fake's certificate trusted over TLS, short backoffs); `.saved` holds what on_credentials_changed received."""

    def make(fake, key, *, credentials=None, sleep=None):
        client = make_client(fake, key, sleep=sleep)
        saved: list[dict] = []
        adapter = WooCommerceAdapter(
            credentials=credentials or {"store_url": fake.base_url, "consumer_key": key.consumer_key,
                                        "consumer_secret": key.consumer_secret},
            budget_key=client.http.budget_key, on_credentials_changed=saved.append, http=client.http)
        adapter.saved = saved
        return adapter

    return make


@pytest.fixture
def woo_channel_settings(settings):
    """What the engine's own adapters need against the fake: short backoffs and an https webhook base (the
    fake's ping to it fails, as a store's does when our address is not reachable yet; creation still succeeds)."""
    settings.CHANNEL_HTTP_BACKOFF_BASE = 0.01
    settings.CHANNEL_HTTP_BACKOFF_CAP = 0.05
    settings.WEBHOOK_BASE_URL = "https://switchboard.example.test"
    return settings


@dataclass
class WooStore:
    fake: WooCommerceFake
    key: ApiKey
    integration: Integration


def woo_store(fake: WooCommerceFake, merchant, *, stock: int = 0, name: str = "Woo shop") -> WooStore:
    """A store on the fake with a simple product (MUG-1) and a variable one (TEE, its variation TEE-S), our
    products for both SKUs with `stock` on hand, and the Integration row holding a key (not connected yet)."""
    key = fake.add_key()
    with fake.lock:
        fake.store.add_product("MUG-1", stock_quantity=3)
        fake.store.add_variable_product("TEE", [{"sku": "TEE-S", "stock_quantity": 3}])
    for sku in ("MUG-1", "TEE-S"):
        make_product(merchant, sku, on_hand=stock)
    credentials = {"store_url": fake.base_url, "consumer_key": key.consumer_key, "consumer_secret": key.consumer_secret}
    integration = Integration.objects.create(merchant=merchant, channel="woocommerce", name=name,
                                             credentials=credentials, account_ref=fake.base_url)
    return WooStore(fake=fake, key=key, integration=integration)
