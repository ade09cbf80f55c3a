"""EasyPost and ShipStation accounts side by side: rates together, a ShipStation label bought once
through a lost answer, and voided."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from inventory.models import Product
from labels.models import Label
from tests.fakes.shipstation.fixtures import SHIPSTATION_KEY
from tests.labels.helpers import easypost_account, pending_shipment, shipstation_account
from tests.orders.helpers import level

pytestmark = pytest.mark.django_db


def test_rates_from_both_carriers_come_back_together(merchant_a, easypost_fake, shipstation_fake):
    ep = easypost_account(merchant_a.merchant)
    ss = shipstation_account(merchant_a.merchant)
    shipstation_fake.failing_carrier = "se-1000002"
    shipment = pending_shipment(merchant_a.merchant)

    body = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/").json()

    assert [(r["carrier_account"], r["carrier"], r["service"], r["amount"]) for r in body["rates"]] == [
        (ss.pk, "Stamps.com", "USPS Ground Advantage", "8.52"), (ep.pk, "USPS", "GroundAdvantage", "8.53"),
        (ep.pk, "UPS", "Ground", "13.23"), (ep.pk, "USPS", "Priority", "13.29"),
        (ss.pk, "Stamps.com", "USPS Priority Mail", "13.39")]
    assert body["errors"] == [{"carrier_account": ss.pk,
                               "message": "UPS could not be reached: the carrier connection timed out."}]


def test_a_shipstation_label_is_bought_once_through_a_lost_answer_and_voided(merchant_a, shipstation_fake):
    shipstation_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    shipstation_fake.lose_next_buy_answer()

    bought = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")
    voided = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/void/")

    assert bought.status_code == 200, bought.content
    assert (bought.json()["status"], bought.json()["label_cost"]) == ("shipped", "8.52")
    assert len(shipstation_fake.purchases) == 1
    assert voided.status_code == 200 and voided.json()["status"] == "pending"
    assert shipstation_fake.voids == shipstation_fake.purchases
    with tenant_scope(merchant_a.merchant):
        assert level(merchant_a.merchant, Product.objects.get(sku="A-1")).on_hand == 50
        assert Label.objects.get(shipment=shipment).status == "voided"


def test_a_shipstation_account_is_connected_through_the_api(merchant_a, shipstation_fake):
    response = merchant_a.api.post("/api/v1/carrier-accounts/", {
        "carrier": "shipstation", "name": "SS", "credentials": {"api_key": SHIPSTATION_KEY}}, format="json")
    refused = merchant_a.api.post("/api/v1/carrier-accounts/", {
        "carrier": "shipstation", "name": "SS", "credentials": {"api_key": "TEST_nope"}}, format="json")

    assert response.status_code == 201 and response.json()["carrier"] == "shipstation"
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "ShipStation refused the API key."
