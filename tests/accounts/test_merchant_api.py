"""GET/PATCH /api/v1/merchant/: the merchant's settings with its ship-from address (core.address's shape
and a phone); everyone reads, owners write (403 for staff), every bad field named."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.models import Merchant
from tests.labels.helpers import staff_clients

pytestmark = pytest.mark.django_db

SHIP_FROM = {"name": "Acme Shop", "line1": "9 Depot Rd", "line2": "", "city": "Austin", "region": "TX",
             "postcode": "78701", "country": "US", "phone": "+1 555 019 9999"}


def test_an_owner_reads_and_changes_the_ship_from_and_label_format(merchant_a):
    before = merchant_a.api.get("/api/v1/merchant/").json()
    assert before["ship_from"] == {k: "" for k in SHIP_FROM} and before["label_format"] == "PDF"

    response = merchant_a.api.patch("/api/v1/merchant/", {"ship_from": SHIP_FROM, "label_format": "ZPL"},
                                    format="json")

    assert response.status_code == 200, response.content
    assert response.json()["ship_from"] == SHIP_FROM
    merchant = Merchant.objects.get(pk=merchant_a.merchant.pk)
    assert (merchant.address, merchant.label_format, merchant.name) == (SHIP_FROM, "ZPL", "Merchant A")


def test_a_patch_without_ship_from_keeps_it(merchant_a):
    merchant_a.api.patch("/api/v1/merchant/", {"ship_from": SHIP_FROM}, format="json")

    response = merchant_a.api.patch("/api/v1/merchant/", {"default_ship_by_days": 4}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["ship_from"], response.json()["default_ship_by_days"]) == (SHIP_FROM, 4)


def test_a_bad_ship_from_is_a_400_naming_each_field_and_nothing_changes(merchant_a):
    response = merchant_a.api.patch("/api/v1/merchant/", {"ship_from": {**SHIP_FROM, "postcode": "ABC", "city": "",
                                                                        "phone": "call me"}, "label_format": "PNG"},
                                    format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {"ship_from": {
        "city": "Required.", "postcode": "ZIP code should look like 94103 or 94103-1234.",
        "phone": "Digits, spaces and + ( ) - . only, at least 5 digits."}}
    merchant = Merchant.objects.get(pk=merchant_a.merchant.pk)
    assert (merchant.address, merchant.label_format) == ({}, "PDF")


def test_staff_read_the_settings_and_get_403_on_a_change(merchant_a):
    staff_api, _web = staff_clients(merchant_a.merchant)

    assert staff_api.get("/api/v1/merchant/").json()["name"] == "Merchant A"
    refused = staff_api.patch("/api/v1/merchant/", {"label_format": "ZPL"}, format="json")

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_owner")
    assert Merchant.objects.get(pk=merchant_a.merchant.pk).label_format == "PDF"


def test_each_merchant_sees_and_changes_only_its_own(merchant_a, merchant_b):
    merchant_b.api.patch("/api/v1/merchant/", {"name": "Bee Goods"}, format="json")

    assert merchant_a.api.get("/api/v1/merchant/").json()["name"] == "Merchant A"
    assert Merchant.objects.get(pk=merchant_b.merchant.pk).name == "Bee Goods"


@pytest.mark.django_db(transaction=True)
def test_a_patch_keeps_a_field_another_request_changed_meanwhile(merchant_a):
    # Given another request that changes the currency and commits while this PATCH of the name is under way
    # (after the request loaded its merchant, just before the service takes the row's lock)
    pk = merchant_a.merchant.pk
    done = []

    def other_request():
        try:
            Merchant.objects.filter(pk=pk).update(currency="JPY")
        finally:
            connection.close()

    def meanwhile(execute, sql, params, many, context):
        if not done and "FOR UPDATE" in sql and Merchant._meta.db_table in sql:
            done.append(True)
            worker = threading.Thread(target=other_request)
            worker.start()
            worker.join()
        return execute(sql, params, many, context)

    # When the name is patched
    with connection.execute_wrapper(meanwhile):
        response = merchant_a.api.patch("/api/v1/merchant/", {"name": "Renamed"}, format="json")

    # Then both changes stand: the PATCH wrote only the name
    assert response.status_code == 200, response.content
    assert done
    merchant = Merchant.objects.get(pk=pk)
    assert (merchant.name, merchant.currency) == ("Renamed", "JPY")
    assert response.json()["currency"] == "JPY"
