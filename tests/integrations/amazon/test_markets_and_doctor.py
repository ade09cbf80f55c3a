"""What needs a live call to Amazon: the marketplaces the seller's account sells in (at connect, and in the
doctor), the restricted role for customers' addresses (probed through the Tokens API, its token cached), listings
from every marketplace of the store, the same quantity pushed to each, and Amazon's issues on listings."""

from __future__ import annotations

import pytest

from integrations.channels import adapter_for
from integrations.models import Listing
from integrations.selectors import integration_doctor
from integrations.services import integration_test_connection
from integrations.sync import listings_push
from integrations.sync.connect import integration_poll
from integrations.sync.stock import pushes_pending_read
from tests.integrations.amazon.conftest import listings_import
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"


def _adapter(amazon, **overrides):
    return adapter_for("amazon", amazon.credentials(**overrides), budget_key="t",
                       on_credentials_changed=lambda c: None)


# ---------------------------------------------------------------- marketplaces


def test_connecting_a_marketplace_the_seller_does_not_sell_in_is_400_naming_the_field(amazon, merchant_a):
    amazon.seller.marketplace_ids = [US, CA]
    amazon.seller.participating = [US]
    body = {"channel": "amazon", "name": "Amazon", "credentials": amazon.credentials()}

    response = merchant_a.api.post("/api/v1/integrations/", body, format="json")
    allowed = merchant_a.api.post("/api/v1/integrations/", {
        **body, "credentials": amazon.credentials(marketplace_ids=[US])}, format="json")

    assert response.status_code == 400
    fields = response.json()["error"]["details"]["fields"]["credentials"]
    assert list(fields) == ["marketplace_ids"] and CA in fields["marketplace_ids"][0]
    assert allowed.status_code == 201, allowed.content


def test_the_doctor_says_when_the_account_no_longer_sells_in_a_store_marketplace(amazon, scope_a):
    m = scope_a.merchant
    amazon.seller.marketplace_ids = [US, CA]
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    amazon.seller.participating = [US]  # the seller closed the Canadian account after connecting

    result = integration_test_connection(merchant=m, integration=integration)
    integration.refresh_from_db()
    findings = {f.code: f for f in integration_doctor(merchant=m, integration=integration)}

    assert result.ok and [f["code"] for f in result.findings] == ["marketplaces_not_participating"]
    assert findings["marketplaces_not_participating"].severity == "error"
    assert CA in findings["marketplaces_not_participating"].message


# ---------------------------------------------------------------- the restricted role


def test_without_the_role_the_order_has_no_address_and_the_doctor_says_the_role_is_missing(amazon, scope_a):
    m = scope_a.merchant
    amazon.seller.pii_role = False
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    amazon.fake.add_order(amazon.seller, [("MUG", 1, "5.00")])

    integration_test_connection(merchant=m, integration=integration)
    integration_poll(merchant=m, integration_id=integration.pk)
    integration.refresh_from_db()
    findings = {f.code: f for f in integration_doctor(merchant=m, integration=integration)}

    assert "Direct-to-Consumer Delivery" in findings["restricted_role_missing"].message
    assert findings["orders_without_address"].message == "1 open order arrived without a ship-to address."
    (probe,) = amazon.fake.calls("createRestrictedDataToken")
    assert probe.status == 400 and probe.body["restrictedResources"][0]["dataElements"] == ["shippingAddress"]
    # the orders were read with the LWA token (v2026-01-01 takes no RDT), RECIPIENT asked for and withheld
    (search,) = amazon.fake.calls("searchOrders")
    assert "RECIPIENT" in search.query["includedData"][0]


def test_with_the_role_the_probe_finds_nothing_and_its_token_is_reused_until_it_expires(amazon, scope_a):
    m = scope_a.merchant
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    amazon.fake.add_order(amazon.seller, [("MUG", 1, "5.00")])

    first = _adapter(amazon).test_connection()
    second = _adapter(amazon).test_connection()  # another worker: the RDT is in Redis
    integration_poll(merchant=m, integration_id=integration.pk)
    integration.refresh_from_db()
    codes = {f.code for f in integration_doctor(merchant=m, integration=integration)}

    assert first.findings == second.findings == []
    assert [c.status for c in amazon.fake.calls("createRestrictedDataToken")] == [200]
    assert "orders_without_address" not in codes and "restricted_role_missing" not in codes
    assert amazon.fake.calls(status=403) == []  # the RDT was never sent where it does not open anything


# ---------------------------------------------------------------- every marketplace's listings


def _two_marketplaces(amazon, m):
    amazon.seller.marketplace_ids = [US, CA]
    amazon.fake.add_listing(amazon.seller, "BOTH", quantity=4, marketplace_ids=[US, CA])
    amazon.fake.add_listing(amazon.seller, "US-ONLY", quantity=1, marketplace_ids=[US])
    amazon.fake.add_listing(amazon.seller, "CA-ONLY", quantity=1, marketplace_ids=[CA], product_type="TOY")
    for sku in ("BOTH", "US-ONLY", "CA-ONLY"):
        make_product(m, sku, on_hand=9)
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    listings_import(amazon, m, integration)
    return integration


def test_listings_come_from_every_marketplace_one_per_sku_with_each_marketplaces_product_type(amazon, scope_a):
    m = scope_a.merchant
    integration = _two_marketplaces(amazon, m)
    amazon.fake.listings[(amazon.seller.seller_id, "BOTH")].quantities[CA] = 6  # Canada shows more than the US

    listings_import(amazon, m, integration)

    listings = {lst.sku: lst for lst in Listing.objects.filter(merchant=m, integration=integration)}
    assert sorted(listings) == ["BOTH", "CA-ONLY", "US-ONLY"]
    assert listings["BOTH"].channel_data["marketplaces"] == {US: "HOME", CA: "HOME"}
    assert listings["CA-ONLY"].channel_data["marketplaces"] == {CA: "TOY"}
    assert listings["BOTH"].channel_quantity == 6  # the highest: the marketplace that could oversell is seen
    assert "sku_listed_twice" not in {f.code for f in integration_doctor(merchant=m, integration=integration)}


def test_a_sku_in_two_marketplaces_gets_the_same_quantity_in_both(amazon, scope_a):
    m = scope_a.merchant
    integration = _two_marketplaces(amazon, m)

    pushed = listings_push(merchant=m, integration=integration)

    patches = sorted((c.path.rsplit("/", 1)[1], c.query["marketplaceIds"][0], c.body["productType"])
                     for c in amazon.fake.calls("patchListingsItem"))
    assert pushed["pushed"] == 3
    assert patches == [("BOTH", CA, "HOME"), ("BOTH", US, "HOME"), ("CA-ONLY", CA, "TOY"), ("US-ONLY", US, "HOME")]
    assert amazon.fake.listings[(amazon.seller.seller_id, "BOTH")].quantities == {US: 9, CA: 9}


def test_many_skus_across_two_marketplaces_go_in_one_feed_per_marketplace_and_are_decided_by_both(amazon, scope_a):
    m = scope_a.merchant
    amazon.seller.marketplace_ids = [US, CA]
    for n in range(8):
        amazon.fake.add_listing(amazon.seller, f"S-{n}", quantity=1, marketplace_ids=[US, CA])
        make_product(m, f"S-{n}", on_hand=5)
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    listings_import(amazon, m, integration)
    amazon.fake.listings[(amazon.seller.seller_id, "S-3")].quantities.pop(CA)  # delisted in Canada since

    listings_push(merchant=m, integration=integration)
    while (read := pushes_pending_read(merchant=m, integration=integration)).get("pending"):
        pass

    feeds = amazon.fake.calls("createFeed")
    assert sorted(c.body["marketplaceIds"][0] for c in feeds) == [CA, US]
    assert read["pushed"] == 7 and read["failed"] == 1
    refused = Listing.objects.get(merchant=m, sku="S-3")
    assert refused.error.startswith(f"{CA}: 4000001") or "4000001" in refused.error
    assert amazon.fake.listings[(amazon.seller.seller_id, "S-5")].quantities == {US: 5, CA: 5}


def test_the_doctor_lists_listings_amazon_reports_issues_on(amazon, scope_a):
    m = scope_a.merchant
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())
    amazon.fake.add_listing(amazon.seller, "OK", quantity=1)
    amazon.fake.add_listing(amazon.seller, "BATTERY", quantity=1)
    amazon.fake.refuse_sku(amazon.seller, "BATTERY")

    listings_import(amazon, m, integration)
    findings = {f.code: f for f in integration_doctor(merchant=m, integration=integration)}

    assert findings["listing_issues"].message.startswith("Amazon reports issues on 1 listing,")
    assert "BATTERY: 90220: " in findings["listing_issues"].message


def test_test_connection_answers_the_live_findings_and_the_doctor_api_keeps_them(amazon, merchant_a):
    from accounts.tenancy import tenant_scope

    amazon.seller.pii_role = False
    with tenant_scope(merchant_a.merchant):
        integration = make_integration(merchant_a.merchant, channel="amazon", credentials=amazon.credentials())

    tested = merchant_a.api.post(f"/api/v1/integrations/{integration.pk}/test-connection/", format="json")
    doctor = merchant_a.api.get(f"/api/v1/integrations/{integration.pk}/doctor/")

    assert tested.status_code == 200 and tested.json()["ok"] is True
    assert [f["code"] for f in tested.json()["findings"]] == ["restricted_role_missing"]
    assert "restricted_role_missing" in {f["code"] for f in doctor.json()["findings"]}


def test_a_403_from_the_tokens_api_is_the_role_missing_not_a_reconnect(amazon, scope_a):
    m = scope_a.merchant
    amazon.seller.pii_role, amazon.seller.rdt_refusal = False, 403
    integration = make_integration(m, channel="amazon", credentials=amazon.credentials())

    result = integration_test_connection(merchant=m, integration=integration)
    integration.refresh_from_db()

    assert result.ok and [f["code"] for f in result.findings] == ["restricted_role_missing"]
    assert integration.status == integration.Status.ACTIVE
    assert [c.status for c in amazon.fake.calls("createRestrictedDataToken")] == [403, 403]  # once more, fresh token
