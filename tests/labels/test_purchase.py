"""Rates from every account at once, a label bought exactly once, stored privately, voided."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from accounts.tenancy import tenant_scope
from inventory.models import Product
from labels import services
from labels.models import Label, LabelRate
from orders.models import Order, OrderLine, Shipment
from tests.fakes.easypost.server import UNDELIVERABLE_ZIP, minimal_pdf
from tests.labels.helpers import easypost_account, pending_shipment
from tests.orders.helpers import level

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(merchant_a, easypost_fake):
    """Merchant A with an EasyPost account and a pending shipment of 2 × 500 g (1,000 g = 35.27 oz)."""
    account = easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    return merchant_a, account, shipment


def test_rates_come_from_every_account_with_the_carriers_words_beside_them(ready, easypost_fake):
    tenant, account, shipment = ready
    broken = easypost_account(tenant.merchant, name="Old key", key="EZTK_revoked")

    response = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/rates/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(r["carrier"], r["service"], r["amount"], r["currency"], r["delivery_days"], r["carrier_account"])
            for r in body["rates"]] == [
        ("USPS", "GroundAdvantage", "8.53", "USD", 5, account.pk), ("UPS", "Ground", "13.23", "USD", 4, account.pk),
        ("USPS", "Priority", "13.29", "USD", 2, account.pk)]
    assert body["errors"] == [{"carrier_account": broken.pk, "message": "EasyPost refused the API key."}]
    with tenant_scope(tenant.merchant):
        assert sorted(LabelRate.objects.values_list("id", flat=True)) == sorted(r["id"] for r in body["rates"])


def test_an_undeliverable_address_shows_the_carriers_message_word_for_word(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant, postcode=UNDELIVERABLE_ZIP)

    body = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/").json()

    assert body["rates"] == []
    assert [e["message"] for e in body["errors"]] == [
        f"USPS: Unable to retrieve rates for this address: the destination ZIP code {UNDELIVERABLE_ZIP} does not exist.",
        f"UPS: Unable to retrieve rates for this address: the destination ZIP code {UNDELIVERABLE_ZIP} does not exist."]


def test_buying_the_cheapest_ships_the_shipment_with_its_cost_and_keeps_the_file(ready, easypost_fake):
    tenant, account, shipment = ready

    response = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    tracking = easypost_fake.shipments[easypost_fake.purchases[0]]["tracking_code"]
    assert (body["status"], body["tracking_number"], body["label_cost"], body["carrier"], body["service"]) == (
        "shipped", tracking, "8.53", "USPS", "GroundAdvantage")
    assert len(easypost_fake.purchases) == 1
    with tenant_scope(tenant.merchant):
        label = Label.objects.get(shipment=shipment)
        product = Product.objects.get(sku="A-1")
        assert (label.status, label.idempotency_key) == ("bought", f"label-{shipment.pk}-1")
        assert level(tenant.merchant, product).on_hand == 48
        assert Shipment.objects.get(pk=shipment.pk).label_cost_amount == Decimal("8.53")
    file = tenant.api.get(f"/api/v1/shipments/{shipment.pk}/label/")
    assert file.status_code == 200 and file["Content-Type"] == "application/pdf"
    assert b"".join(file.streaming_content) == minimal_pdf(tracking)


def test_a_label_of_merchant_a_is_404_for_merchant_b(ready, merchant_b, easypost_fake):
    tenant, account, shipment = ready
    tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")

    assert merchant_b.api.get(f"/api/v1/shipments/{shipment.pk}/label/").status_code == 404
    assert merchant_b.api.post(f"/api/v1/shipments/{shipment.pk}/void/").status_code == 404
    assert merchant_b.api.post(f"/api/v1/shipments/{shipment.pk}/rates/").status_code == 404
    assert len(easypost_fake.refunds) == 0


def test_buying_again_returns_the_same_label(ready, easypost_fake):
    tenant, account, shipment = ready
    first = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json").json()

    again = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "fastest"}, format="json")

    assert again.status_code == 200 and again.json()["tracking_number"] == first["tracking_number"]
    assert len(easypost_fake.purchases) == 1


def test_a_lost_answer_buys_one_label(ready, easypost_fake):
    tenant, account, shipment = ready
    easypost_fake.lose_next_buy_answer()

    response = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")

    assert response.status_code == 200, response.content
    assert len(easypost_fake.purchases) == 1
    assert response.json()["tracking_number"] == easypost_fake.shipments[easypost_fake.purchases[0]]["tracking_code"]


def test_a_purchase_left_waiting_is_never_finished_for_a_shipment_that_shipped_another_way(ready, easypost_fake):
    """A purchase recorded (its answer lost) and then the parcel shipped by hand: finishing it must not pay
    the carrier for a label nobody will use; the purchase ends failed, saying what to check."""
    tenant, account, shipment = ready
    from orders import services as order_services

    with tenant_scope(tenant.merchant):
        rates = services.shipment_rates(merchant=tenant.merchant, shipment=shipment).rates
        label = services.purchase._label_intend(merchant=tenant.merchant, shipment=shipment, rate=rates[0])
        order_services.shipment_mark_shipped(merchant=tenant.merchant, shipment=shipment, actor=tenant.user,
                                             carrier="UPS", tracking_number="1ZHAND0001")

    response = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")

    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "shipment_already_shipped"
    assert easypost_fake.purchases == []
    with tenant_scope(tenant.merchant):
        label.refresh_from_db()
        assert label.status == "failed" and label.idempotency_key in label.error
        assert Shipment.objects.get(pk=shipment.pk).tracking_number == "1ZHAND0001"


def test_a_crash_after_the_carrier_bought_is_finished_by_the_next_attempt(ready, easypost_fake):
    """The purchase was recorded and the carrier bought, but our process died before commit: the next
    attempt finds the row intended, is told SHIPMENT.POSTAGE.EXISTS and keeps that label."""
    tenant, account, shipment = ready
    with tenant_scope(tenant.merchant):
        rates = services.shipment_rates(merchant=tenant.merchant, shipment=shipment).rates
        label = services.purchase._label_intend(merchant=tenant.merchant, shipment=shipment, rate=rates[0])
    adapter = services.accounts.carrier_adapter(account)
    adapter.client.sdk.shipment.buy(label.carrier_data["shipment_id"], rate={"id": label.rate_external_id})

    response = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "fastest"}, format="json")

    assert response.status_code == 200, response.content
    assert len(easypost_fake.purchases) == 1
    assert response.json()["service"] == "GroundAdvantage"  # the recorded purchase, not the retry's rule


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_buy_requests_buy_one_label(ready, easypost_fake):
    tenant, account, shipment = ready
    with tenant_scope(tenant.merchant):
        rate_id = services.shipment_rates(merchant=tenant.merchant, shipment=shipment).rates[0].pk
    barrier = threading.Barrier(2)
    results: list[int] = []

    def click() -> None:
        try:
            barrier.wait()
            response = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rate_id": rate_id}, format="json")
            results.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert results == [200, 200]
    assert len(easypost_fake.purchases) == 1
    with tenant_scope(tenant.merchant):
        assert Label.objects.filter(shipment=shipment).count() == 1


def test_void_restores_stock_and_the_shipment_is_pending_again(ready, easypost_fake):
    tenant, account, shipment = ready
    tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")

    response = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/void/")
    again = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/void/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["tracking_number"], body["label_cost"]) == ("pending", "", "0.00")
    assert again.status_code == 409 and again.json()["error"]["code"] == "no_label"
    assert easypost_fake.refunds == easypost_fake.purchases
    with tenant_scope(tenant.merchant):
        assert LabelRate.objects.count() == 0  # spent with the purchase: a re-ship asks again
    with tenant_scope(tenant.merchant):
        product = Product.objects.get(sku="A-1")
        stock = level(tenant.merchant, product)
        line = OrderLine.objects.get(order__shipments=shipment)
        assert (stock.on_hand, stock.reserved) == (50, 2)
        assert (line.quantity_fulfilled, line.quantity_reserved) == (0, 2)
        assert Order.objects.get(pk=line.order_id).status == "unfulfilled"
        assert Label.objects.get(shipment=shipment).status == "voided"

    reship = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "fastest"}, format="json")

    assert reship.status_code == 200 and reship.json()["service"] == "Priority"
    assert len(easypost_fake.purchases) == 2
    with tenant_scope(tenant.merchant):
        assert level(tenant.merchant, Product.objects.get(sku="A-1")).on_hand == 48
        assert list(Label.objects.filter(shipment=shipment).values_list("status", "idempotency_key")) == [
            ("voided", f"label-{shipment.pk}-1"), ("bought", f"label-{shipment.pk}-2")]


def test_a_product_without_weight_is_named(merchant_a, easypost_fake):
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant, sku="NO-W", grams=0)

    response = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/rates/")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "weight_missing"
    assert response.json()["error"]["details"] == {"skus": ["NO-W"]}
    assert easypost_fake.requests == []
