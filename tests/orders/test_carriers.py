"""Issue 14 §3.5: carriers from a list. The manual shipment form and API take a listed carrier's code (or
name) or "other" with a name; the shipment stores the carrier's name and a listed carrier's tracking link."""

from __future__ import annotations

import pytest

from accounts.tenancy import tenant_scope
from orders import services
from orders.models import Shipment
from tests.integrations.helpers import make_integration
from tests.inventory.helpers import make_product
from tests.orders.helpers import normalized

pytestmark = pytest.mark.django_db


def _order(tenant, external_id: str = "1001"):
    m = tenant.merchant
    with tenant_scope(m):
        store = make_integration(m, name=f"Shop {external_id}")
        make_product(m, "A-1", on_hand=10)
        return services.order_ingest(merchant=m, integration_id=store.pk, normalized=normalized(external_id)).order


def test_the_api_takes_a_listed_carrier_and_builds_its_tracking_link(merchant_a):
    order = _order(merchant_a)

    response = merchant_a.api.post(f"/api/v1/orders/{order.pk}/shipments/",
                                   {"carrier": "dhl_express", "tracking_number": "JD014600003828", "ship": True},
                                   format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["carrier"] == "DHL Express"
    assert body["tracking_url"] == ("https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1"
                                    "&tracking-id=JD014600003828")


def test_other_takes_a_name_and_gets_no_made_up_link(merchant_a):
    order = _order(merchant_a)

    response = merchant_a.api.post(f"/api/v1/orders/{order.pk}/shipments/",
                                   {"carrier": "other", "carrier_name": "Parcelforce", "tracking_number": "PF1"},
                                   format="json")

    assert response.status_code == 201, response.content
    assert (response.json()["carrier"], response.json()["tracking_url"]) == ("Parcelforce", "")


@pytest.mark.parametrize("body,field", [
    ({"carrier": "pigeon"}, "carrier"), ({"carrier": "other"}, "carrier_name"),
    ({"carrier": "other", "carrier_name": "   "}, "carrier_name"), ({"carrier_name": "Parcelforce"}, "carrier"),
])
def test_a_carrier_not_in_the_list_is_400_and_nothing_ships(merchant_a, body, field):
    order = _order(merchant_a)

    response = merchant_a.api.post(f"/api/v1/orders/{order.pk}/shipments/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]["fields"]
    with tenant_scope(merchant_a.merchant):
        assert not Shipment.objects.exists()


def test_marking_a_pending_shipment_shipped_uses_the_list(merchant_a):
    order = _order(merchant_a)
    created = merchant_a.api.post(f"/api/v1/orders/{order.pk}/shipments/", {"ship": False}, format="json").json()

    refused = merchant_a.api.post(f"/api/v1/shipments/{created['id']}/ship/", {"carrier": "Acme"}, format="json")
    shipped = merchant_a.api.post(f"/api/v1/shipments/{created['id']}/ship/",
                                  {"carrier": "Royal Mail", "tracking_number": "AB123456789GB"}, format="json")

    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unknown_carrier"
    assert shipped.status_code == 200, shipped.content
    assert (shipped.json()["carrier"], shipped.json()["tracking_url"]) == (
        "Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB")


def test_the_order_page_offers_the_list_and_other(merchant_a):
    order = _order(merchant_a)
    with tenant_scope(merchant_a.merchant):
        line = order.lines.get()

    page = merchant_a.web.get(f"/orders/{order.pk}/").content.decode()
    posted = merchant_a.web.post(f"/orders/{order.pk}/ship/", {
        f"qty_{line.pk}": "1", "carrier": "other", "carrier_name": "Parcelforce", "tracking_number": "PF9",
        "ship_now": "on"}, follow=True)
    refused = merchant_a.web.post(f"/orders/{order.pk}/ship/", {
        f"qty_{line.pk}": "1", "carrier": "other", "carrier_name": "", "ship_now": "on"}, follow=True)

    assert '<option value="canada_post">Canada Post</option>' in page and '<option value="other">Other</option>' in page
    assert posted.status_code == 200
    with tenant_scope(merchant_a.merchant):
        assert list(Shipment.objects.values_list("carrier", "tracking_number")) == [("Parcelforce", "PF9")]
    assert "Give the carrier&#x27;s name." in refused.content.decode()
