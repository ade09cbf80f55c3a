"""The website authorization workflow through the generic install pages: Seller Central's consent URL with
our application id and a state nonce, the callback's code exchanged at LWA for the seller's refresh token."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from accounts.tenancy import unscoped
from integrations.models import Integration

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture
def our_app(amazon, settings):
    settings.AMAZON_SPAPI_APPLICATION_ID = "amzn1.sp.solution.switchboard"
    settings.AMAZON_LWA_CLIENT_ID = amazon.app.client_id
    settings.AMAZON_LWA_CLIENT_SECRET = amazon.app.client_secret
    return amazon


def _start(tenant) -> dict:
    response = tenant.web.post("/integrations/connect/amazon/install/",
                               {"marketplace_ids": "ATVPDKIKX0DER", "region": "na", "name": "Amazon US"})
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "sellercentral.amazon.com",
                                                          "/apps/authorize/consent")
    return {k: v[0] for k, v in parse_qs(target.query).items()}


def test_consent_then_callback_connects_the_seller_with_its_refresh_token(our_app, merchant_a):
    query = _start(merchant_a)
    code = our_app.fake.authorization_code(our_app.seller)

    response = merchant_a.web.get("/integrations/connect/amazon/callback/", {
        "spapi_oauth_code": code, "selling_partner_id": our_app.seller.seller_id, "state": query["state"]})

    assert query["application_id"] == "amzn1.sp.solution.switchboard"
    assert query["redirect_uri"].endswith("/integrations/connect/amazon/callback/")
    assert response.status_code == 302 and "/integrations/" in response["Location"]
    with unscoped("test"):
        integration = Integration.objects.get(merchant=merchant_a.merchant, channel="amazon")
    assert integration.account_ref == our_app.seller.seller_id
    assert integration.credentials == {"refresh_token": our_app.seller.refresh_token,
                                       "seller_id": our_app.seller.seller_id, "marketplace_ids": ["ATVPDKIKX0DER"],
                                       "region": "na", "via_app": True}


def test_a_callback_with_another_state_or_a_used_code_connects_nothing(our_app, merchant_a):
    query = _start(merchant_a)
    code = our_app.fake.authorization_code(our_app.seller)

    wrong_state = merchant_a.web.get("/integrations/connect/amazon/callback/", {
        "spapi_oauth_code": code, "selling_partner_id": our_app.seller.seller_id, "state": "forged"})
    _start(merchant_a)
    used = merchant_a.web.get("/integrations/connect/amazon/callback/", {
        "spapi_oauth_code": "ANd-never-issued", "selling_partner_id": our_app.seller.seller_id,
        "state": query["state"]})

    assert wrong_state.status_code == used.status_code == 302
    assert wrong_state["Location"].endswith("/integrations/connect/amazon/")
    with unscoped("test"):
        assert not Integration.objects.filter(merchant=merchant_a.merchant, channel="amazon").exists()
