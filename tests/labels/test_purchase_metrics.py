"""Label purchases are counted by carrier and outcome on /metrics: once per label bought, never for a
repeat that returns the same label, and a carrier's refusal as refused."""

from __future__ import annotations

import pytest

from tests.core.test_metrics import TOKEN, scrape, value
from tests.labels.helpers import easypost_account, pending_shipment

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(merchant_a, easypost_fake, settings):
    settings.METRICS_TOKEN = TOKEN
    easypost_account(merchant_a.merchant)
    return merchant_a, pending_shipment(merchant_a.merchant)


def test_a_bought_label_is_counted_once(ready, client, easypost_fake):
    tenant, shipment = ready
    before = value(scrape(client), "switchboard_label_purchases_total", carrier="easypost", outcome="bought")

    first = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")
    again = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")

    assert (first.status_code, again.status_code) == (200, 200)
    body = scrape(client)
    assert value(body, "switchboard_label_purchases_total", carrier="easypost", outcome="bought") == before + 1


def test_a_refused_purchase_is_counted_as_refused(ready, client, easypost_fake):
    tenant, shipment = ready
    before = value(scrape(client), "switchboard_label_purchases_total", carrier="easypost", outcome="refused")
    bought = value(scrape(client), "switchboard_label_purchases_total", carrier="easypost", outcome="bought")
    easypost_fake.fail_next("/buy", 422)

    response = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")

    assert response.status_code == 400 and response.json()["error"]["code"] == "carrier_refused", response.content
    body = scrape(client)
    assert value(body, "switchboard_label_purchases_total", carrier="easypost", outcome="refused") == before + 1
    assert value(body, "switchboard_label_purchases_total", carrier="easypost", outcome="bought") == bought
