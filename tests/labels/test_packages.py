"""Package presets (owners write, staff read) and the parcel they make: the products' weight × units plus
the package's empty weight, in the package's dimensions; the products alone without one."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from labels import services
from labels.carriers.base import Parcel
from labels.models import Label, LabelRate, PackagePreset
from tests.labels.helpers import easypost_account, pending_shipment, staff_clients

pytestmark = pytest.mark.django_db

BOX = {"name": "Medium box", "length_mm": 300, "width_mm": 200, "height_mm": 100, "empty_weight_grams": 150}


def _preset(tenant, **overrides) -> PackagePreset:
    with tenant_scope(tenant.merchant):
        return PackagePreset.objects.create(merchant=tenant.merchant, **{**BOX, **overrides})


def test_an_owner_creates_lists_changes_and_deletes_a_package(merchant_a):
    created = merchant_a.api.post("/api/v1/package-presets/", BOX, format="json")
    assert created.status_code == 201, created.content
    preset_id = created.json()["id"]
    assert {k: created.json()[k] for k in BOX} == BOX

    listed = merchant_a.api.get("/api/v1/package-presets/").json()
    assert [p["name"] for p in listed["results"]] == ["Medium box"]

    changed = merchant_a.api.patch(f"/api/v1/package-presets/{preset_id}/", {"empty_weight_grams": 180}, format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["empty_weight_grams"], changed.json()["length_mm"]) == (180, 300)

    assert merchant_a.api.delete(f"/api/v1/package-presets/{preset_id}/").status_code == 204
    with tenant_scope(merchant_a.merchant):
        assert not PackagePreset.objects.filter(pk=preset_id).exists()


def test_staff_read_packages_but_cannot_change_them(merchant_a):
    preset = _preset(merchant_a)
    staff_api, _web = staff_clients(merchant_a.merchant)

    assert staff_api.get(f"/api/v1/package-presets/{preset.pk}/").json()["name"] == "Medium box"
    refused = [staff_api.post("/api/v1/package-presets/", {**BOX, "name": "Other"}, format="json"),
               staff_api.patch(f"/api/v1/package-presets/{preset.pk}/", {"name": "Renamed"}, format="json"),
               staff_api.delete(f"/api/v1/package-presets/{preset.pk}/")]

    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(403, "not_owner")] * 3
    with tenant_scope(merchant_a.merchant):
        assert list(PackagePreset.objects.values_list("name", "empty_weight_grams")) == [("Medium box", 150)]


def test_a_package_name_is_unique_whatever_the_case_and_bad_sizes_are_named(merchant_a):
    _preset(merchant_a)

    duplicate = merchant_a.api.post("/api/v1/package-presets/", {**BOX, "name": "MEDIUM BOX"}, format="json")
    bad = merchant_a.api.post("/api/v1/package-presets/", {"name": "", "length_mm": 0, "width_mm": "wide",
                                                           "height_mm": 3001, "empty_weight_grams": -1}, format="json")

    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (409, "duplicate_package_preset")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]["fields"]) == {"name", "length_mm", "width_mm", "height_mm",
                                                             "empty_weight_grams"}
    with tenant_scope(merchant_a.merchant):
        assert PackagePreset.objects.count() == 1


def test_the_parcel_is_the_products_alone_without_a_package(merchant_a):
    shipment = pending_shipment(merchant_a.merchant, qty=3, grams=400)

    with tenant_scope(merchant_a.merchant):
        parcel = services.shipment_parcel(merchant=merchant_a.merchant, shipment=shipment)

    assert parcel == Parcel(weight_grams=1200, length_mm=254, width_mm=203, height_mm=102)


def test_a_package_adds_its_empty_weight_and_gives_its_dimensions(merchant_a):
    shipment = pending_shipment(merchant_a.merchant, qty=3, grams=400)
    preset = _preset(merchant_a)

    with tenant_scope(merchant_a.merchant):
        parcel = services.shipment_parcel(merchant=merchant_a.merchant, shipment=shipment, package_preset_id=preset.pk)

    assert parcel == Parcel(weight_grams=1350, length_mm=300, width_mm=200, height_mm=100)


def test_rates_in_a_package_reach_easypost_in_ounces_and_inches_and_a_rule_buys_in_it(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)  # 2 × 500 g
    preset = _preset(merchant_a)

    rates = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/", {"package_preset_id": preset.pk},
                                format="json")

    assert rates.status_code == 200, rates.content
    sent = easypost_fake.requests[-1][2]["shipment"]["parcel"]
    assert sent == {"weight": 40.57, "length": 11.8, "width": 7.9, "height": 3.9}  # 1,150 g; 300 × 200 × 100 mm
    with tenant_scope(merchant_a.merchant):
        assert set(LabelRate.objects.values_list("package_preset_id", flat=True)) == {preset.pk}

    bought = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/",
                                 {"rule": "cheapest", "package_preset_id": preset.pk}, format="json")

    assert bought.status_code == 200, bought.content
    paths = [path for _method, path, _body in easypost_fake.requests]
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["shipments", "buy"]  # the package's quotes were reused
    with tenant_scope(merchant_a.merchant):
        assert Label.objects.get().package_preset_id == preset.pk


def test_a_rule_with_another_package_asks_for_rates_in_it(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    preset = _preset(merchant_a)
    merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/", format="json")  # the products alone

    bought = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/",
                                 {"rule": "cheapest", "package_preset_id": preset.pk}, format="json")

    assert bought.status_code == 200, bought.content
    parcels = [body["shipment"]["parcel"]["weight"] for method, path, body in easypost_fake.requests
               if (method, path) == ("POST", "/v2/shipments")]
    assert parcels == [35.27, 40.57]


def test_a_rate_of_another_package_is_refused_and_nothing_is_bought(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    preset = _preset(merchant_a)
    rate_id = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/", format="json").json()["rates"][0]["id"]

    refused = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/",
                                  {"rate_id": rate_id, "package_preset_id": preset.pk}, format="json")

    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "rate_package_mismatch")
    assert easypost_fake.purchases == []


def test_another_merchants_package_is_404_for_rates(merchant_a, merchant_b, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    theirs = _preset(merchant_b)

    response = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/", {"package_preset_id": theirs.pk},
                                   format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "package_preset_not_found")
    assert [p for m, p, b in easypost_fake.requests if p == "/v2/shipments"] == []
