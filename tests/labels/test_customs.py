"""Customs lines on parcels that cross a border: from the products' customs description (else title),
HS code, origin country, price and weight; each carrier in its documented shape; the fakes refuse an
international shipment without them; the products API, form and CSV carry the new fields."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.tenancy import tenant_scope
from core.http import Rejected
from inventory.models import Product
from labels.carriers.base import Address, LabelRequest, Parcel
from labels.carriers.easypost.adapter import EasyPostAdapter
from labels.carriers.shipstation.adapter import ShipStationAdapter
from tests.labels.helpers import easypost_account, pending_shipment, shipstation_account

pytestmark = pytest.mark.django_db

CUSTOMS = {"price": Decimal("24.95"), "customs_description": "Cotton T-shirt", "hs_code": "6109.10",
           "origin_country": "PT"}


def _to_london(merchant, **fields):
    return pending_shipment(merchant, postcode="SW1A 1AA", country="GB", region="", qty=2, grams=500,
                            **{**CUSTOMS, **fields})


def test_easypost_gets_customs_info_with_line_totals_in_ounces(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = _to_london(merchant_a.merchant)

    response = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/", format="json")

    assert response.status_code == 200, response.content
    info = easypost_fake.requests[-1][2]["shipment"]["customs_info"]
    assert info["customs_items"] == [{"description": "Cotton T-shirt", "quantity": 2, "value": 49.9, "currency": "USD",
                                      "weight": 35.27, "hs_tariff_number": "6109.10", "origin_country": "PT",
                                      "code": "A-1"}]
    assert (info["contents_type"], info["customs_certify"], info["customs_signer"]) == ("merchandise", True, "Acme Shop")
    assert len(response.json()["rates"]) == 3


def test_shipstation_gets_customs_items_per_unit_in_grams(merchant_a, shipstation_fake):
    shipstation_account(merchant_a.merchant)
    shipment = _to_london(merchant_a.merchant)

    response = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/", format="json")

    assert response.status_code == 200, response.content
    customs = next(b for m, p, b in shipstation_fake.requests if p == "/v2/rates")["shipment"]["customs"]
    assert customs == {"contents": "merchandise", "non_delivery": "return_to_sender", "customs_items": [{
        "description": "Cotton T-shirt", "quantity": 2, "value": {"currency": "usd", "amount": 24.95},
        "harmonized_tariff_code": "6109.10", "country_of_origin": "PT", "sku": "A-1",
        "weight": {"value": 500, "unit": "gram"}}]}
    assert response.json()["errors"] == [] and len(response.json()["rates"]) == 3


def test_a_domestic_parcel_carries_no_customs(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)

    merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/", format="json")

    assert "customs_info" not in easypost_fake.requests[-1][2]["shipment"]


def test_a_product_without_price_or_origin_is_a_400_naming_it_and_no_carrier_is_asked(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = _to_london(merchant_a.merchant, price=None, origin_country="")

    response = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/", format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (400, "customs_incomplete")
    assert response.json()["error"]["details"]["skus"] == {"A-1": ["price", "origin_country"]}
    assert easypost_fake.requests == []


def test_the_fakes_refuse_an_international_shipment_without_customs(easypost_fake, shipstation_fake):
    """Straight at the fakes, as a client that forgot customs would call them."""
    request = LabelRequest(reference="X1", parcel=Parcel(weight_grams=500),
                           ship_from=Address(name="Acme", line1="9 Depot Rd", city="Austin", region="TX",
                                             postcode="78701", country="US", phone="5550199999"),
                           ship_to=Address(name="Ada", line1="1 Example St", city="London", postcode="SW1A 1AA",
                                           country="GB"))

    with pytest.raises(Rejected) as easypost:
        EasyPostAdapter({"api_key": "EZTK_fake_key"}, budget_key="t:ep", timeout=10).rates(request)
    with pytest.raises(Rejected) as shipstation:
        ShipStationAdapter({"api_key": "TEST_fake_key"}, budget_key="t:ss", timeout=10).rates(request)

    assert "customs_info is required for international shipments" in str(easypost.value)
    assert "shipment.customs is required for international shipments." in str(shipstation.value)


def test_the_products_api_csv_and_form_carry_the_customs_fields(merchant_a):
    created = merchant_a.api.post("/api/v1/products/", {"sku": "TEE", "title": "Tee", "hs_code": "6109.10",
                                                        "origin_country": "pt", "customs_description": "Cotton tee"},
                                  format="json")
    bad = merchant_a.api.post("/api/v1/products/", {"sku": "BAD", "title": "Bad", "hs_code": "61A9",
                                                    "origin_country": "XX"}, format="json")

    assert created.status_code == 201, created.content
    assert {k: created.json()[k] for k in ("hs_code", "origin_country", "customs_description")} == {
        "hs_code": "6109.10", "origin_country": "PT", "customs_description": "Cotton tee"}
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]["fields"]) == {"hs_code", "origin_country"}

    page = merchant_a.web.post(f"/inventory/products/{created.json()['id']}/edit/", {
        "title": "Tee", "low_stock_threshold": "0", "is_active": "on", "hs_code": "6109.90", "origin_country": "ES",
        "customs_description": "Cotton tee"})
    assert page.status_code == 302
    with tenant_scope(merchant_a.merchant):
        assert Product.objects.filter(sku="TEE").values_list("hs_code", "origin_country").get() == ("6109.90", "ES")

    exported = b"".join(merchant_a.web.get("/inventory/catalog.csv").streaming_content).decode()
    header, row = exported.splitlines()[:2]
    assert "customs_description,hs_code,origin_country" in header
    assert "Cotton tee,6109.90,ES" in row
