"""The Amazon fake itself: LWA, the access-token rule, buckets, searchOrders' rules and datasets,
confirmShipment, patchListingsItem, the feed flow and injected failures, each against Amazon's models."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests

from tests.fakes.amazon import AmazonFake, ManualClock, schema
from tests.fakes.amazon.server import iso


def _token(fake: AmazonFake, app, seller) -> str:
    answer = requests.post(fake.lwa_url, data={"grant_type": "refresh_token", "refresh_token": seller.refresh_token,
                                               "client_id": app.client_id, "client_secret": app.client_secret},
                           timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _get(fake: AmazonFake, token: str | None, path: str, **params) -> requests.Response:
    headers = {"x-amz-access-token": token} if token else {}
    return requests.get(fake.base_url + path, params=params, headers=headers, timeout=5)


@pytest.fixture
def seller_env(amazon_fake):
    app = amazon_fake.add_app()
    seller = amazon_fake.add_seller(app)
    return amazon_fake, app, seller, _token(amazon_fake, app, seller)


def test_lwa_is_form_encoded_only_and_answers_in_lwas_shape(amazon_fake):
    app = amazon_fake.add_app()
    seller = amazon_fake.add_seller(app)
    form = {"grant_type": "refresh_token", "refresh_token": seller.refresh_token, "client_id": app.client_id,
            "client_secret": app.client_secret}

    as_json = requests.post(amazon_fake.lwa_url, json=form, timeout=5)
    wrong_secret = requests.post(amazon_fake.lwa_url, data={**form, "client_secret": "nope"}, timeout=5)
    wrong_grant = requests.post(amazon_fake.lwa_url, data={**form, "refresh_token": "Atzr|nope"}, timeout=5)
    good = requests.post(amazon_fake.lwa_url, data=form, timeout=5)

    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "invalid_grant")
    assert good.status_code == 200
    assert set(good.json()) == {"access_token", "token_type", "expires_in"}
    assert good.json()["expires_in"] == 3600 and good.json()["token_type"] == "bearer"


def test_a_revoked_seller_is_invalid_grant_and_a_short_lifetime_is_said(amazon_fake):
    amazon_fake.token_lifetime = 90
    app = amazon_fake.add_app()
    seller = amazon_fake.add_seller(app)
    form = {"grant_type": "refresh_token", "refresh_token": seller.refresh_token, "client_id": app.client_id,
            "client_secret": app.client_secret}

    short = requests.post(amazon_fake.lwa_url, data=form, timeout=5).json()
    amazon_fake.revoke(seller)
    revoked = requests.post(amazon_fake.lwa_url, data=form, timeout=5)

    assert short["expires_in"] == 90
    assert (revoked.status_code, revoked.json()["error"]) == (400, "invalid_grant")


def test_a_missing_or_expired_token_is_403_in_the_errors_envelope(seller_env):
    fake, _, seller, token = seller_env
    path = f"/listings/2021-08-01/items/{seller.seller_id}"

    missing = _get(fake, None, path, marketplaceIds="ATVPDKIKX0DER")
    fake.expire_tokens()
    expired = _get(fake, token, path, marketplaceIds="ATVPDKIKX0DER")

    assert missing.status_code == 403 and missing.json()["errors"][0]["code"] == "Unauthorized"
    assert expired.status_code == 403
    assert expired.json()["errors"][0]["details"] == "The access token you provided has expired."


def test_the_bucket_empties_at_amazons_burst_and_refills_at_its_rate():
    clock = ManualClock()
    with AmazonFake(clock=clock) as fake:
        app = fake.add_app()
        seller = fake.add_seller(app)
        token = _token(fake, app, seller)
        after = iso(clock.time() - 3600)

        statuses = [_get(fake, token, "/orders/2026-01-01/orders", lastUpdatedAfter=after).status_code
                    for _ in range(21)]
        throttled = _get(fake, token, "/orders/2026-01-01/orders", lastUpdatedAfter=after)
        clock.advance(1 / 0.0056 + 0.5)  # one token back at searchOrders' rate
        refilled = _get(fake, token, "/orders/2026-01-01/orders", lastUpdatedAfter=after)

        assert statuses == [200] * 20 + [429]
        assert throttled.json() == {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for "
                                                "the requested resource.", "details": ""}]}
        assert throttled.headers["x-amzn-RateLimit-Limit"] == "0.0056"
        assert refilled.status_code == 200
        assert not fake.crashes


def test_search_orders_rules(seller_env):
    fake, _, seller, token = seller_env
    now = datetime.now(UTC).timestamp()
    path = "/orders/2026-01-01/orders"

    neither = _get(fake, token, path)
    both = _get(fake, token, path, createdAfter=iso(now - 3600), lastUpdatedAfter=iso(now - 3600))
    mixed = _get(fake, token, path, createdAfter=iso(now - 3600), lastUpdatedBefore=iso(now - 600))
    too_recent = _get(fake, token, path, lastUpdatedAfter=iso(now - 3600), lastUpdatedBefore=iso(now - 30))
    too_big = _get(fake, token, path, lastUpdatedAfter=iso(now - 3600), maxResultsPerPage=101)
    bad_enum = _get(fake, token, path, lastUpdatedAfter=iso(now - 3600), includedData="EVERYTHING")

    assert [r.status_code for r in (neither, both, mixed, too_recent, too_big, bad_enum)] == [400] * 6
    assert all(r.json()["errors"][0]["code"] == "InvalidInput" for r in (neither, both, mixed, too_recent, too_big))


def test_search_orders_pages_by_token_with_the_same_parameters_and_datasets_only_when_asked(seller_env):
    fake, _, seller, token = seller_env
    for n in range(5):
        fake.add_order(seller, [(f"SKU-{n}", 2, "10.00")], shipping="4.99")
    after = iso(datetime.now(UTC).timestamp() - 3600)
    path = "/orders/2026-01-01/orders"

    first = _get(fake, token, path, lastUpdatedAfter=after, maxResultsPerPage=3).json()
    changed = _get(fake, token, path, lastUpdatedAfter=after, maxResultsPerPage=2,
                   paginationToken=first["pagination"]["nextToken"])
    second = _get(fake, token, path, lastUpdatedAfter=after, maxResultsPerPage=3,
                  paginationToken=first["pagination"]["nextToken"]).json()
    full = _get(fake, token, path, lastUpdatedAfter=after, includedData="FULFILLMENT,PROCEEDS").json()

    assert [len(first["orders"]), len(second["orders"])] == [3, 2] and "pagination" not in second
    assert changed.status_code == 400
    assert "fulfillment" not in first["orders"][0] and "proceeds" not in first["orders"][0]
    assert full["orders"][0]["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    assert full["orders"][0]["proceeds"]["grandTotal"] == {"amount": "24.99", "currencyCode": "USD"}


def test_confirm_shipment_validates_items_quantities_and_the_package_reference(seller_env):
    fake, _, seller, token = seller_env
    order = fake.add_order(seller, [("MUG", 2, "5.00"), ("CUP", 1, "3.00")])
    mug, cup = (i.order_item_id for i in order.items)
    url = f"{fake.base_url}/orders/v0/orders/{order.order_id}/shipmentConfirmation"

    def confirm(reference, items):
        body = {"marketplaceId": "ATVPDKIKX0DER", "packageDetail": {
            "packageReferenceId": reference, "carrierCode": "UPS", "trackingNumber": "1Z1",
            "shipDate": "2026-12-07T10:00:00Z", "orderItems": [{"orderItemId": i, "quantity": q} for i, q in items]}}
        return requests.post(url, json=body, headers={"x-amz-access-token": token}, timeout=5)

    unknown = confirm("1", [("99999", 1)])
    over = confirm("1", [(mug, 3)])
    not_numeric = confirm("PKG-1", [(mug, 1)])
    first = confirm("1", [(mug, 2)])
    reused = confirm("1", [(cup, 1)])
    rest = confirm("2", [(cup, 1)])

    assert [r.status_code for r in (unknown, over, not_numeric, first, reused, rest)] == [400, 400, 400, 204, 400, 204]
    assert order.status == "SHIPPED" and [p["packageReferenceId"] for p in order.packages] == ["1", "2"]


def test_patch_listings_item_accepted_and_invalid(seller_env):
    fake, _, seller, token = seller_env
    fake.add_listing(seller, "MUG/BLUE 12", quantity=3, product_type="HOME")
    fake.add_listing(seller, "BATTERY", quantity=3, product_type="HOME")
    fake.refuse_sku(seller, "BATTERY")

    def patch(sku, product_type="HOME"):
        body = {"productType": product_type, "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability",
                                                         "value": [{"fulfillment_channel_code": "DEFAULT",
                                                                    "quantity": 14}]}]}
        return requests.patch(f"{fake.base_url}/listings/2021-08-01/items/{seller.seller_id}/"
                              f"{requests.utils.quote(sku, safe='')}", params={"marketplaceIds": "ATVPDKIKX0DER"},
                              json=body, headers={"x-amz-access-token": token}, timeout=5).json()

    accepted, refused, wrong_type = patch("MUG/BLUE 12"), patch("BATTERY"), patch("MUG/BLUE 12", "PRODUCT")

    assert accepted["status"] == "ACCEPTED" and fake.listings[(seller.seller_id, "MUG/BLUE 12")].quantity == 14
    assert refused["status"] == "INVALID" and refused["issues"][0]["code"] == "90220"
    assert wrong_type["status"] == "INVALID"


def test_the_feed_flow_ends_in_a_report_naming_each_refused_sku(seller_env):
    fake, _, seller, token = seller_env
    fake.add_listing(seller, "A", quantity=1)
    fake.add_listing(seller, "B", quantity=1)
    fake.refuse_sku(seller, "B")
    headers = {"x-amz-access-token": token}
    content_type = "application/json; charset=UTF-8"
    document = {"header": {"sellerId": seller.seller_id, "version": "2.0"}, "messages": [
        {"messageId": n, "sku": sku, "operationType": "PATCH", "productType": "HOME",
         "patches": [{"op": "merge", "path": "/attributes/fulfillment_availability",
                      "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 9}]}]}
        for n, sku in enumerate(["A", "B"], start=1)]}

    created = requests.post(f"{fake.base_url}/feeds/2021-06-30/documents", json={"contentType": content_type},
                            headers=headers, timeout=5).json()
    wrong_type = requests.put(created["url"], data=json.dumps(document), headers={"Content-Type": "text/plain"},
                              timeout=5)
    uploaded = requests.put(created["url"], data=json.dumps(document), headers={"Content-Type": content_type},
                            timeout=5)
    feed = requests.post(f"{fake.base_url}/feeds/2021-06-30/feeds", headers=headers, timeout=5, json={
        "feedType": "JSON_LISTINGS_FEED", "marketplaceIds": ["ATVPDKIKX0DER"],
        "inputFeedDocumentId": created["feedDocumentId"]}).json()
    polls = [requests.get(f"{fake.base_url}/feeds/2021-06-30/feeds/{feed['feedId']}", headers=headers,
                          timeout=5).json() for _ in range(2)]
    result = requests.get(f"{fake.base_url}/feeds/2021-06-30/documents/{polls[-1]['resultFeedDocumentId']}",
                          headers=headers, timeout=5).json()
    report = requests.get(result["url"], timeout=5).json()

    assert (wrong_type.status_code, uploaded.status_code) == (403, 200)
    assert [p["processingStatus"] for p in polls] == ["IN_PROGRESS", "DONE"]
    assert [(i["sku"], i["code"]) for i in report["issues"]] == [("B", "90220")]
    assert report["summary"]["messagesAccepted"] == 1
    assert fake.listings[(seller.seller_id, "A")].quantity == 9
    assert fake.listings[(seller.seller_id, "B")].quantity == 1


def test_injected_500_and_503_answer_in_the_errors_envelope(seller_env):
    fake, _, seller, token = seller_env
    fake.fail_next(1, status=500)
    fake.fail_next(1, status=503)
    path = f"/listings/2021-08-01/items/{seller.seller_id}"

    answers = [_get(fake, token, path, marketplaceIds="ATVPDKIKX0DER") for _ in range(3)]

    assert [a.status_code for a in answers] == [500, 503, 200]
    assert answers[0].json()["errors"][0]["code"] == "InternalFailure"


@pytest.mark.parametrize("recorded", sorted(p.name for p in schema.REALWORLD.glob("*.json")
                                            if p.name.startswith(("orders2026", "listings_", "tokens_"))))
def test_every_recorded_answer_meets_the_model_the_fake_validates_against(recorded):
    data = json.loads((schema.REALWORLD / recorded).read_text())
    name = {"orders2026": "orders", "listings": "listings", "tokens": "tokens"}[recorded.split("_")[0]]

    schema.response_body(name, data["operationId"], data["response"]["status"], data["response"]["body"])


def _rdt(fake: AmazonFake, token: str, resources: list[dict]) -> requests.Response:
    return requests.post(fake.base_url + "/tokens/2021-03-01/restrictedDataToken",
                         json={"restrictedResources": resources}, headers={"x-amz-access-token": token}, timeout=5)


ADDRESS = [{"method": "GET", "path": "/orders/v0/orders", "dataElements": ["shippingAddress"]}]


def test_the_tokens_api_issues_an_rdt_only_to_an_app_with_the_role_and_only_for_restricted_resources(amazon_fake):
    app = amazon_fake.add_app()
    with_role, without = amazon_fake.add_seller(app), amazon_fake.add_seller(app, pii_role=False)
    token, plain = _token(amazon_fake, app, with_role), _token(amazon_fake, app, without)

    granted = _rdt(amazon_fake, token, ADDRESS)
    refused = _rdt(amazon_fake, plain, ADDRESS)
    not_restricted = _rdt(amazon_fake, token, [{"method": "GET", "path": "/orders/2026-01-01/orders"}])
    malformed = _rdt(amazon_fake, token, [{"method": "FETCH", "path": "/orders/v0/orders"}])

    assert granted.status_code == 200 and set(granted.json()) == {"restrictedDataToken", "expiresIn"}
    assert granted.json()["restrictedDataToken"].startswith("Atz.sprdt|")
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (400, "InvalidInput")
    assert refused.json()["errors"][0]["message"] == ("Application does not have access to one or more requested "
                                                      "data elements: [shippingAddress]")
    assert (not_restricted.status_code, malformed.status_code) == (400, 400)


def test_an_rdt_opens_only_what_it_was_issued_for(seller_env):
    fake, _, seller, token = seller_env
    rdt = _rdt(fake, token, ADDRESS).json()["restrictedDataToken"]

    search = _get(fake, rdt, "/orders/2026-01-01/orders", lastUpdatedAfter="2026-01-01T00:00:00Z")

    assert (search.status_code, search.json()["errors"][0]["code"]) == (403, "Unauthorized")


def test_marketplace_participations_list_where_the_account_sells(amazon_fake):
    app = amazon_fake.add_app()
    seller = amazon_fake.add_seller(app, marketplace_ids=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"])
    seller.participating = ["ATVPDKIKX0DER"]

    answer = _get(amazon_fake, _token(amazon_fake, app, seller), "/sellers/v1/marketplaceParticipations")

    assert answer.status_code == 200
    assert [(p["marketplace"]["id"], p["participation"]["isParticipating"]) for p in answer.json()["payload"]] == [
        ("ATVPDKIKX0DER", True)]


def test_a_listing_is_offered_per_marketplace_with_its_own_quantity(amazon_fake):
    app = amazon_fake.add_app()
    seller = amazon_fake.add_seller(app, marketplace_ids=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"])
    amazon_fake.add_listing(seller, "BOTH", quantity=2, marketplace_ids=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"])
    amazon_fake.add_listing(seller, "US-ONLY", quantity=3)
    token = _token(amazon_fake, app, seller)
    path = f"/listings/2021-08-01/items/{seller.seller_id}"

    canada = _get(amazon_fake, token, path, marketplaceIds="A2EUQ1WTGCTBG2", includedData="fulfillmentAvailability")
    patched = requests.patch(f"{amazon_fake.base_url}{path}/US-ONLY", params={"marketplaceIds": "A2EUQ1WTGCTBG2"},
                             json={"productType": "HOME", "patches": [{
                                 "op": "merge", "path": "/attributes/fulfillment_availability",
                                 "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 9}]}]},
                             headers={"x-amz-access-token": token}, timeout=5)

    assert [i["sku"] for i in canada.json()["items"]] == ["BOTH"]
    assert patched.json()["status"] == "INVALID"  # not listed in Canada
    assert amazon_fake.listings[(seller.seller_id, "US-ONLY")].quantities == {"ATVPDKIKX0DER": 3}
