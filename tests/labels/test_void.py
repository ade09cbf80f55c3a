"""Void is consistent with the carrier: the refund is recorded as soon as the carrier accepts it, then the
shipment is taken back; if that second step fails the label is voided here too (never bought here and
refunded there), the failure is visible, and it is finished later without a second refund."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from accounts.tenancy import tenant_scope
from inventory.models import Product
from labels import services
from labels.models import Label
from orders import services as order_services
from orders.models import Order, Shipment
from tests.labels.helpers import easypost_account, pending_shipment, shipstation_account
from tests.orders.helpers import level


def bought(tenant) -> Shipment:
    shipment = pending_shipment(tenant.merchant)
    response = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")
    assert response.status_code == 200, response.content
    return shipment


@pytest.mark.django_db
def test_an_unship_refused_after_the_refund_leaves_the_label_voided_and_says_so(merchant_a, easypost_fake):
    """The order was marked returned after shipping: the carrier refunds, taking the shipment back is
    refused; the label is voided here as at the carrier, and voiding again does not refund twice."""
    easypost_account(merchant_a.merchant)
    shipment = bought(merchant_a)
    with tenant_scope(merchant_a.merchant):
        order_services.order_return(merchant=merchant_a.merchant, order=Order.objects.get(pk=shipment.order_id),
                                    restock=False)

    first = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/void/")
    again = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/void/")

    assert first.status_code == 409 and first.json()["error"]["code"] == "void_unfinished"
    assert "USPS refunded the label, but the shipment could not be taken back here" in first.json()["error"]["message"]
    assert again.status_code == 409 and again.json()["error"]["code"] == "void_unfinished"
    assert easypost_fake.refunds == easypost_fake.purchases  # one refund, asked once
    with tenant_scope(merchant_a.merchant):
        label = Label.objects.get(shipment=shipment)
        assert (label.status, label.void_status, label.unshipped_at) == ("voided", "submitted", None)
        assert "could not be taken back" in label.error
        assert Shipment.objects.get(pk=shipment.pk).status == "shipped"


@pytest.mark.django_db(transaction=True)
def test_an_unship_that_times_out_is_finished_by_the_sweep_without_a_second_void(merchant_a, shipstation_fake):
    """Another transaction holds the order while the void runs: ShipStation voids, taking the shipment
    back times out on the lock (503, the refund recorded), and the sweep finishes it afterwards."""
    shipstation_account(merchant_a.merchant)
    shipment = bought(merchant_a)
    locked, release = threading.Event(), threading.Event()

    def hold_the_order() -> None:
        try:
            with tenant_scope(merchant_a.merchant), transaction.atomic():
                Order.objects.select_for_update().filter(pk=shipment.order_id).exists()
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_order)
    holder.start()
    assert locked.wait(10)
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '200ms'")
    try:
        response = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/void/")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
        release.set()
        holder.join()

    assert response.status_code == 503, response.content
    assert response.json()["error"]["message"] == "Stamps.com refunded the label; taking the shipment back here is retried."
    assert shipstation_fake.voids == shipstation_fake.purchases
    with tenant_scope(merchant_a.merchant):
        assert Label.objects.get(shipment=shipment).status == "voided"
        assert Shipment.objects.get(pk=shipment.pk).status == "shipped"

        swept = services.labels_void_finish_due(merchant=merchant_a.merchant)

        assert swept == {"finished": 1, "failed": 0}
        label = Label.objects.get(shipment=shipment)
        assert (label.status, label.error) == ("voided", "") and label.unshipped_at is not None
        assert Shipment.objects.get(pk=shipment.pk).status == "pending"
        assert level(merchant_a.merchant, Product.objects.get(sku="A-1")).on_hand == 50
        assert services.labels_void_finish_due(merchant=merchant_a.merchant) == {"finished": 0, "failed": 0}
    assert shipstation_fake.voids == shipstation_fake.purchases  # still one void at the carrier
