"""Choosing a rate without a person: a rule in the request (cheapest, fastest, service:<carrier service>),
else the merchant's shipping rule for the order's channel and destination (most specific wins), else the
cheapest; used by the label API and by batches."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from labels.models import ShippingRule
from tests.labels.helpers import easypost_account, pending_shipment, staff_clients

pytestmark = pytest.mark.django_db

# The EasyPost fake's rates for 1,000 g: GroundAdvantage 8.53 (5 days), Priority 13.29 (2), UPS Ground 13.23 (4).


def _rule(tenant, rule: str, *, channel: str = "", country: str = "") -> None:
    with tenant_scope(tenant.merchant):
        ShippingRule.objects.create(merchant=tenant.merchant, channel=channel, country=country, rule=rule)


@pytest.mark.parametrize(("rule", "service"), [
    ("cheapest", "GroundAdvantage"), ("fastest", "Priority"), ("service:Ground", "Ground"),
    ("service:ups ground", "Ground"), ("service:Priority", "Priority")])
def test_a_rule_in_the_request_chooses_the_rate(merchant_a, easypost_fake, rule, service):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)

    bought = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": rule}, format="json")

    assert bought.status_code == 200, bought.content
    assert bought.json()["service"] == service


def test_a_service_nobody_quoted_is_a_400_naming_what_was_and_nothing_is_bought(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)

    refused = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "service:Express"},
                                  format="json")
    unknown = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "slowest"}, format="json")

    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "service_not_offered")
    assert refused.json()["error"]["details"]["offered"] == ["UPS Ground", "USPS GroundAdvantage", "USPS Priority"]
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "invalid_rule")
    assert easypost_fake.purchases == []


def test_without_a_rule_the_most_specific_merchant_rule_wins(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    _rule(merchant_a, "fastest")  # the default
    _rule(merchant_a, "service:Ground", country="US")
    _rule(merchant_a, "cheapest", channel="shopify")  # orders here are manual: not this one
    shipment = pending_shipment(merchant_a.merchant)  # a manual order to the US

    bought = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {}, format="json")

    assert bought.status_code == 200, bought.content
    assert bought.json()["service"] == "Ground"


def test_a_channel_and_country_rule_beats_a_country_rule_and_no_rule_is_the_cheapest(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    first = pending_shipment(merchant_a.merchant, number="R1")
    second = pending_shipment(merchant_a.merchant, number="R2")
    assert merchant_a.api.post(f"/api/v1/shipments/{first.pk}/label/", {}, format="json").json()["service"] == \
        "GroundAdvantage"
    _rule(merchant_a, "service:Ground", country="US")
    _rule(merchant_a, "fastest", channel=first.order.channel, country="US")

    bought = merchant_a.api.post(f"/api/v1/shipments/{second.pk}/label/", {}, format="json")

    assert bought.json()["service"] == "Priority"


def test_a_batch_without_a_rule_follows_the_merchants_rules(merchant_a, easypost_fake,
                                                             django_capture_on_commit_callbacks):
    easypost_account(merchant_a.merchant)
    _rule(merchant_a, "fastest")
    shipments = [pending_shipment(merchant_a.merchant, number=f"F{n}", on_hand=100) for n in range(2)]

    with django_capture_on_commit_callbacks(execute=True):
        created = merchant_a.api.post("/api/v1/label-batches/", {"order_ids": [s.order_id for s in shipments]},
                                      format="json")

    assert created.status_code == 202, created.content
    assert created.json()["rule"] == ""
    bought = [easypost_fake.shipments[s]["selected_rate"]["service"] for s in easypost_fake.purchases]
    assert bought == ["Priority", "Priority"]


def test_owners_manage_rules_and_staff_only_read_them(merchant_a):
    staff_api, _web = staff_clients(merchant_a.merchant)

    created = merchant_a.api.post("/api/v1/shipping-rules/", {"country": "gb", "rule": "service:Priority"},
                                  format="json")
    duplicate = merchant_a.api.post("/api/v1/shipping-rules/", {"country": "GB", "rule": "fastest"}, format="json")
    bad = merchant_a.api.post("/api/v1/shipping-rules/", {"channel": "ebay", "country": "XX", "rule": "x"},
                              format="json")
    refused = staff_api.post("/api/v1/shipping-rules/", {"rule": "fastest"}, format="json")

    assert created.status_code == 201, created.content
    assert {k: created.json()[k] for k in ("channel", "country", "rule")} == {
        "channel": "", "country": "GB", "rule": "service:Priority"}
    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (409, "duplicate_shipping_rule")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_rule")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_owner")
    assert [r["rule"] for r in staff_api.get("/api/v1/shipping-rules/").json()["results"]] == ["service:Priority"]
    changed = merchant_a.api.patch(f"/api/v1/shipping-rules/{created.json()['id']}/", {"rule": "fastest"},
                                   format="json")
    assert changed.json()["rule"] == "fastest"
    assert merchant_a.api.delete(f"/api/v1/shipping-rules/{created.json()['id']}/").status_code == 204
