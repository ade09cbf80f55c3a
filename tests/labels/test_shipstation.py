"""The ShipStation V2 package against its loopback fake: API-Key, singular units, 207 carrier lists,
per-carrier rate errors, a label bought once after a lost answer, void twice refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.http import AuthFailed
from labels.carriers.base import Address, LabelRequest, Parcel
from labels.carriers.shipstation import mapping
from labels.carriers.shipstation.adapter import ShipStationAdapter
from tests.fakes.easypost.server import minimal_pdf
from tests.fakes.shipstation.fixtures import SHIPSTATION_KEY
from tests.fakes.shipstation.server import UNDELIVERABLE_POSTCODE

FROM = Address(name="Acme Shop", line1="9 Depot Rd", city="Austin", region="TX", postcode="78701", country="US",
               phone="5550199999")


def request(postcode: str = "97477") -> LabelRequest:
    to = Address(name="Ada Lovelace", line1="1 Example St", city="Springfield", region="OR", postcode=postcode,
                 country="US")
    return LabelRequest(reference="1042", ship_from=FROM, ship_to=to,
                        parcel=Parcel(weight_grams=1000, length_mm=254, width_mm=203, height_mm=102))


def adapter(key: str = SHIPSTATION_KEY) -> ShipStationAdapter:
    return ShipStationAdapter({"api_key": key}, budget_key="test:shipstation", timeout=10)


def test_grams_and_centimetres_go_out_as_they_are():
    body = mapping.shipment_out(request())
    assert body["packages"] == [{"package_code": "package", "weight": {"value": 1000, "unit": "gram"},
                                 "dimensions": {"length": 25.4, "width": 20.3, "height": 10.2, "unit": "centimeter"}}]
    assert body["ship_from"]["phone"] == "5550199999" and body["ship_to"]["postal_code"] == "97477"


def test_rates_sum_their_amounts_and_a_failing_carrier_of_a_207_is_reported(shipstation_fake):
    shipstation_fake.failing_carrier = "se-1000002"

    quote = adapter().rates(request())

    _m, path, body = shipstation_fake.requests[-1]
    assert path == "/v2/rates" and body["rate_options"]["carrier_ids"] == ["se-1000001"]
    assert [(r.carrier, r.service, r.amount, r.currency, r.delivery_days) for r in quote.rates] == [
        ("Stamps.com", "USPS Ground Advantage", Decimal("8.52"), "USD", 5),
        ("Stamps.com", "USPS Priority Mail", Decimal("13.39"), "USD", 2)]
    assert quote.messages == ["UPS could not be reached: the carrier connection timed out."]


def test_an_undeliverable_address_gives_each_carriers_words(shipstation_fake):
    quote = adapter().rates(request(UNDELIVERABLE_POSTCODE))

    assert quote.rates == []
    assert quote.messages == [f"Stamps.com: the ship-to postal code {UNDELIVERABLE_POSTCODE} is not valid.",
                              f"UPS: the ship-to postal code {UNDELIVERABLE_POSTCODE} is not valid."]


def test_a_lost_buy_answer_is_found_by_rate_id_not_bought_again(shipstation_fake):
    ss = adapter()
    rate = ss.rates(request()).rates[0]
    shipstation_fake.lose_next_buy_answer()

    label = ss.buy(request(), rate, idempotency_key="label-1-1")
    again = ss.buy(request(), rate, idempotency_key="label-1-1")

    assert shipstation_fake.purchases == [label.external_id]
    assert again.external_id == label.external_id
    assert (label.cost_amount, label.currency, label.label_format) == (Decimal("8.52"), "USD", "PDF")
    assert ss.label_file(label) == minimal_pdf(label.tracking_number)
    assert ss.track(label).status == "in_transit"


def test_void_twice_is_refused_in_shipstations_words_and_read_as_the_first_void(shipstation_fake):
    """ShipStation refuses a second void; the adapter reads that refusal as the label being voided (our
    first void whose answer was lost), so a retried void records it instead of keeping the label bought."""
    ss = adapter()
    rate = ss.rates(request()).rates[0]
    label = ss.buy(request(), rate, idempotency_key="label-2-1")

    assert ss.void(label).is_accepted
    refused = ss.client.put(f"/v2/labels/{label.external_id}/void", operation="label_void")
    again = ss.void(label)

    assert refused == {"approved": False, "message": "This label has already been voided.",
                       "reason_code": "label_already_voided"}
    assert (again.is_accepted, again.status) == (True, "already_voided")
    assert shipstation_fake.voids == [label.external_id]


def test_a_wrong_key_is_auth_failed_and_a_429_is_waited_out(shipstation_fake):
    with pytest.raises(AuthFailed):
        adapter("TEST_wrong").test_connection()

    shipstation_fake.fail_next("/v2/carriers", 429, retry_after=0)
    info = adapter().test_connection()

    assert info.carriers == ["USPS main", "UPS main"]
