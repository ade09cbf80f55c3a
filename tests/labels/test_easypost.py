"""The EasyPost package against the loopback fake, through the official SDK: units, rates, messages,
buying once, refunds, errors, webhooks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.http import AuthFailed, Rejected, Transient
from labels.carriers.base import Address, LabelRequest, Parcel
from labels.carriers.easypost import mapping
from labels.carriers.easypost.adapter import EasyPostAdapter
from tests.fakes.easypost.fixtures import EASYPOST_KEY
from tests.fakes.easypost.server import UNDELIVERABLE_ZIP, minimal_pdf

FROM = Address(name="Acme Shop", line1="9 Depot Rd", city="Austin", region="TX", postcode="78701", country="US",
               phone="5550199999")
TO = Address(name="Ada Lovelace", line1="1 Example St", city="Springfield", region="OR", postcode="97477", country="US")


def request(*, postcode: str = "97477", grams: int = 1000) -> LabelRequest:
    to = Address(**{**TO.__dict__, "postcode": postcode})
    return LabelRequest(reference="1042", ship_from=FROM, ship_to=to,
                        parcel=Parcel(weight_grams=grams, length_mm=254, width_mm=203, height_mm=102))


def adapter(key: str = EASYPOST_KEY) -> EasyPostAdapter:
    return EasyPostAdapter({"api_key": key}, budget_key="test:easypost", timeout=10)


def test_units_are_converted_once_to_ounces_and_inches():
    assert mapping.grams_to_ounces(1000) == Decimal("35.27")
    assert mapping.grams_to_ounces(454) == Decimal("16.01")
    assert mapping.mm_to_inches(254) == Decimal("10.0")
    assert mapping.parcel_out(Parcel(weight_grams=1000, length_mm=254, width_mm=203, height_mm=102)) == {
        "weight": 35.27, "length": 10.0, "width": 8.0, "height": 4.0}
    assert mapping.parcel_out(Parcel(weight_grams=1000, length_mm=254)) == {"weight": 35.27}


def test_rates_arrive_priced_by_the_ounces_sent_with_a_bearer_key(easypost_fake):
    quote = adapter().rates(request(grams=1000))

    method, path, body = easypost_fake.requests[-1]
    assert (method, path) == ("POST", "/v2/shipments")
    assert body["shipment"]["parcel"] == {"weight": 35.27, "length": 10.0, "width": 8.0, "height": 4.0}
    assert body["shipment"]["to_address"]["zip"] == "97477" and body["shipment"]["options"]["label_format"] == "PDF"
    assert easypost_fake.auth_headers[-1] == "Bearer"
    assert [(r.carrier, r.service, r.amount, r.delivery_days) for r in quote.rates] == [
        ("USPS", "GroundAdvantage", Decimal("8.53"), 5), ("USPS", "Priority", Decimal("13.29"), 2),
        ("UPS", "Ground", Decimal("13.23"), 4)]
    assert quote.messages == []


def test_an_address_no_carrier_can_rate_gives_the_carriers_words(easypost_fake):
    quote = adapter().rates(request(postcode=UNDELIVERABLE_ZIP))

    assert quote.rates == []
    assert quote.messages == [
        f"USPS: Unable to retrieve rates for this address: the destination ZIP code {UNDELIVERABLE_ZIP} does not exist.",
        f"UPS: Unable to retrieve rates for this address: the destination ZIP code {UNDELIVERABLE_ZIP} does not exist."]


def test_buy_then_buy_again_keeps_the_one_label(easypost_fake):
    ep = adapter()
    rate = adapter().rates(request()).rates[0]

    first = ep.buy(request(), rate, idempotency_key="label-1")
    again = ep.buy(request(), rate, idempotency_key="label-1")  # SHIPMENT.POSTAGE.EXISTS, read and kept

    assert easypost_fake.purchases == [first.external_id]
    assert again.tracking_number == first.tracking_number and first.tracking_number.startswith("9400")
    assert (first.carrier, first.service, first.cost_amount, first.label_format) == (
        "USPS", "GroundAdvantage", Decimal("8.53"), "PDF")
    assert ep.label_file(first) == minimal_pdf(first.tracking_number)


def test_a_lost_buy_answer_is_retried_into_the_label_already_bought(easypost_fake):
    ep = adapter()
    rate = ep.rates(request()).rates[1]
    easypost_fake.lose_next_buy_answer()

    label = ep.buy(request(), rate, idempotency_key="label-2")

    assert len(easypost_fake.purchases) == 1
    assert label.service == "Priority" and label.tracking_number


def test_refund_twice_is_refused_with_easyposts_words_and_read_as_the_first_refund(easypost_fake):
    """EasyPost refuses a second refund; the adapter reads that as the refund already submitted (ours,
    whose answer was lost) and reports it, so a retried void records it: one refund at the carrier."""
    ep = adapter()
    rate = ep.rates(request()).rates[0]
    label = ep.buy(request(), rate, idempotency_key="label-3")

    first = ep.void(label)
    with pytest.raises(Rejected) as refused:
        ep.client.call("shipment.refund", ep.client.sdk.shipment.refund, label.external_id, retry=False)
    again = ep.void(label)

    assert (first.is_accepted, first.status) == (True, "submitted")
    assert refused.value.code == "SHIPMENT.REFUND.EXISTS"
    assert refused.value.message == "A refund has already been submitted for this shipment."
    assert (again.is_accepted, again.status) == (True, "submitted")
    assert easypost_fake.refunds == [label.external_id]


def test_a_wrong_key_is_auth_failed_and_5xx_is_retried(easypost_fake):
    with pytest.raises(AuthFailed):
        adapter("EZTK_wrong").test_connection()

    easypost_fake.fail_next("/v2/users", 503)
    assert adapter().test_connection().account_name == "Fake Shipper"
    assert [p for m, p, b in easypost_fake.requests if p == "/v2/users"] == ["/v2/users"] * 3


def test_transient_failures_past_the_attempts_raise_transient(easypost_fake):
    for _ in range(4):
        easypost_fake.fail_next("/v2/users", 500)
    ep = adapter()
    ep.client.sleep = lambda seconds: None

    with pytest.raises(Transient):
        ep.test_connection()


def test_webhooks_are_made_once_with_our_secret(easypost_fake):
    ep = adapter()

    ep.webhooks_ensure("https://hooks.example/webhooks/carrier/tok/", secret="s3cret")
    ep.webhooks_ensure("https://hooks.example/webhooks/carrier/tok/", secret="s3cret")

    assert [(h["url"], h["webhook_secret"]) for h in easypost_fake.webhooks.values()] == [
        ("https://hooks.example/webhooks/carrier/tok/", "s3cret")]
    assert easypost_fake.requests[-1][2] is None or "webhook" not in (easypost_fake.requests[-1][2] or {})
