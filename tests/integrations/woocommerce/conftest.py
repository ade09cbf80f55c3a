"""The WooCommerce fake's fixtures, and clients pointed at it (the store URL is the fake's)."""

from __future__ import annotations

import uuid

import pytest
import requests

from core.http import HttpClient
from integrations.channels.woocommerce.adapter import WooCommerceAdapter
from integrations.channels.woocommerce.client import BUDGET, WooCommerceClient
from tests.fakes.woocommerce.fixtures import woo_fake, woo_https_fake, woo_key, woo_receiver  # noqa: F401


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
