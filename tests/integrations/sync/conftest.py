"""The sync engine against the Shopify fake: integrations whose adapters the engine builds itself
(adapter_for, through SHOPIFY_API_BASE_URL), short HTTP backoff, an https webhook base."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from integrations.models import Integration
from jobs.models import WorkerJob
from tests.fakes.shopify import ShopifyFake, seed_catalog
from tests.fakes.shopify.state import ShopState
from tests.inventory.helpers import make_product


@pytest.fixture
def channel_settings(settings, shopify_fake):
    settings.SHOPIFY_API_BASE_URL = shopify_fake.base_url_template
    settings.CHANNEL_HTTP_BACKOFF_BASE = 0.01
    settings.CHANNEL_HTTP_BACKOFF_CAP = 0.05
    settings.WEBHOOK_BASE_URL = "https://switchboard.example.test"
    return settings


@dataclass
class Store:
    fake: ShopifyFake
    shop: ShopState
    token: str
    integration: Integration

    def location_id(self) -> str:
        return str(self.shop.primary_location().id)


def connect_store(fake: ShopifyFake, merchant, *, domain: str = "demo-store.myshopify.com", plan: str = "enterprise",
                  copies: int = 1, stock: int = 0, name: str = "Main shop") -> Store:
    """A shop on the fake with the catalog seeded, our products for its SKUs with `stock` on hand, and an
    Integration row holding a custom app's token (the connect job not run yet)."""
    shop = fake.add_shop(domain, plan=plan)
    seed_catalog(shop, copies=copies)
    token = fake.issue_token(shop.domain)
    for variant in sorted(shop.variants.values(), key=lambda v: v.id):
        make_product(merchant, variant.sku, on_hand=stock)
    integration = Integration.objects.create(merchant=merchant, channel="shopify", name=name,
                                             credentials={"shop_domain": shop.domain, "access_token": token},
                                             account_ref=shop.domain)
    return Store(fake=fake, shop=shop, token=token, integration=integration)


def run_connect(merchant, integration: Integration, *, kind: str = "integrations.connect") -> WorkerJob:
    """The connect job as the API starts it: a WorkerJob and the task, run in-process (eager)."""
    from integrations.tasks import integration_connect_task
    from jobs.services import job_create

    job = job_create(merchant=merchant, kind=kind, params={"integration_id": integration.pk}, max_attempts=5)
    # throw=False: a retry the task asks for (Throttled/Transient) runs at once, as a worker would run it later
    integration_connect_task.apply(kwargs={"merchant_id": merchant.pk, "integration_id": integration.pk,
                                           "job_id": job.pk}, throw=False)
    job.refresh_from_db()
    integration.refresh_from_db()
    return job
