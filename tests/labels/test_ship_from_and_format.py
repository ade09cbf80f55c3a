"""Where a parcel leaves from (the merchant's ship-from with its phone, or its location's own) and the
label format the merchant chose (PDF, PNG or ZPL), asked of both carriers and kept with the right
extension and content type."""

from __future__ import annotations

import pytest

from accounts.models import Merchant
from accounts.tenancy import tenant_scope
from inventory.models import Location
from labels.models import Label
from tests.labels.helpers import easypost_account, pending_shipment, shipstation_account

pytestmark = pytest.mark.django_db

WAREHOUSE = {"name": "Acme East", "line1": "200 Dock St", "line2": "", "city": "Newark", "region": "NJ",
             "postcode": "07105", "country": "US", "phone": "+1 555 010 2000"}


def _format(merchant, fmt: str) -> None:
    Merchant.objects.filter(pk=merchant.pk).update(label_format=fmt)
    merchant.label_format = fmt


def test_the_merchants_ship_from_goes_to_the_carrier_with_its_phone(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)

    merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/", format="json")

    sent = easypost_fake.requests[-1][2]["shipment"]["from_address"]
    assert (sent["street1"], sent["zip"], sent["phone"]) == ("9 Depot Rd", "78701", "5550199999")


def test_the_locations_own_ship_from_wins_for_its_shipments(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    with tenant_scope(merchant_a.merchant):
        location = Location.objects.get(is_default=True)
    changed = merchant_a.api.patch(f"/api/v1/locations/{location.pk}/", {"ship_from": WAREHOUSE}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["ship_from"] == WAREHOUSE

    merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/", format="json")

    sent = easypost_fake.requests[-1][2]["shipment"]["from_address"]
    assert (sent["name"], sent["street1"], sent["city"], sent["zip"], sent["phone"]) == (
        "Acme East", "200 Dock St", "Newark", "07105", "+1 555 010 2000")


def test_a_bad_location_ship_from_is_a_400_naming_its_fields(merchant_a):
    with tenant_scope(merchant_a.merchant):
        location = Location.objects.get(is_default=True)

    response = merchant_a.api.patch(f"/api/v1/locations/{location.pk}/",
                                    {"ship_from": {**WAREHOUSE, "postcode": "7105"}}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {
        "ship_from": {"postcode": "ZIP code should look like 94103 or 94103-1234."}}
    with tenant_scope(merchant_a.merchant):
        assert Location.objects.get(pk=location.pk).ship_from == {}


def test_shipstation_refuses_a_ship_from_without_a_phone_in_its_words(merchant_a, shipstation_fake):
    shipstation_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    Merchant.objects.filter(pk=merchant_a.merchant.pk).update(address={**merchant_a.merchant.address, "phone": ""})

    body = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/", format="json").json()

    assert body["rates"] == []
    assert [e["message"] for e in body["errors"]] == ["ShipStation: ship_from.phone is required."]


def test_a_zpl_merchant_gets_a_zpl_label_from_easypost(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    _format(merchant_a.merchant, "ZPL")

    bought = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")

    assert bought.status_code == 200, bought.content
    created = next(b for m, p, b in easypost_fake.requests if p == "/v2/shipments")
    assert created["shipment"]["options"]["label_format"] == "ZPL"
    with tenant_scope(merchant_a.merchant):
        label = Label.objects.get()
        assert (label.label_format, label.file.name.rsplit(".", 1)[-1]) == ("ZPL", "zpl")
    file = merchant_a.api.get(f"/api/v1/shipments/{shipment.pk}/label/")
    assert file["Content-Type"] == "application/zpl"
    assert b"".join(file.streaming_content) == f"^XA^FO50,50^FD{bought.json()['tracking_number']}^FS^XZ".encode()


def test_a_png_merchant_gets_a_png_label_from_shipstation(merchant_a, shipstation_fake):
    shipstation_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    _format(merchant_a.merchant, "PNG")

    bought = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")

    assert bought.status_code == 200, bought.content
    buy = next(b for m, p, b in shipstation_fake.requests if p.startswith("/v2/labels/rates/"))
    assert buy["label_format"] == "png"
    with tenant_scope(merchant_a.merchant):
        label = Label.objects.get()
        assert (label.label_format, label.file.name.rsplit(".", 1)[-1]) == ("PNG", "png")
    file = merchant_a.api.get(f"/api/v1/shipments/{shipment.pk}/label/")
    assert file["Content-Type"] == "image/png"
    assert b"".join(file.streaming_content).startswith(b"\x89PNG\r\n\x1a\n")
