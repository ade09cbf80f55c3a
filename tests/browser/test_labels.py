"""In a real browser, at 1280 and 390 px, against the carriers' loopback fakes: buying a label from the rates
table lands on the order with the tracking number, the label and its cost; a batch's page follows the job
by refreshing itself (no JavaScript needed) and then names each failure in the carrier's words."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.tenancy import tenant_scope
from jobs.services import job_create
from labels.models import Label, LabelBatch
from labels.services import label_batch_run
from labels.services.batches import BATCH_KIND
from orders.models import Order
from tests.browser.conftest import LAPTOP, PHONE, assert_fits_width, page_problems
from tests.fakes.easypost.server import UNDELIVERABLE_ZIP
from tests.labels.helpers import easypost_account, pending_shipment, shipstation_account


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_buy_a_label_from_the_rates_table(signed_in, merchant_a, easypost_fake, shipstation_fake, viewport):
    m = merchant_a.merchant
    easypost_account(m, name="EasyPost main")
    shipstation_account(m, name="ShipStation warehouse")
    shipstation_fake.failing_carrier = "se-1000002"
    shipment = pending_shipment(m)
    page = signed_in(merchant_a, viewport=viewport)

    page.goto(f"/orders/{shipment.order_id}/")
    page.get_by_role("link", name=f"Buy label for shipment {shipment.pk}").click()

    rates = page.locator("table.rates tbody tr")
    expect(rates).to_have_count(5)
    expect(rates.first).to_contain_text("8.52 USD")
    expect(page.locator("#rate-errors")).to_contain_text(
        "ShipStation warehouse: UPS could not be reached: the carrier connection timed out.")
    assert_fits_width(page)
    assert page_problems(page) == []
    page.get_by_label("USPS Priority, 13.29 USD, EasyPost main").check()
    page.get_by_role("button", name="Buy the chosen rate").click()

    expect(page.get_by_text("Label bought: USPS Priority")).to_be_visible()
    with tenant_scope(m):
        label = Label.objects.get(shipment=shipment, status="bought")
    section = page.locator(f"#label-of-{shipment.pk}")
    expect(section).to_contain_text(label.tracking_number)
    expect(section).to_contain_text("13.29 USD")
    expect(section.get_by_role("link", name="Download label (PDF)")).to_have_attribute(
        "href", f"/api/v1/shipments/{shipment.pk}/label/")
    assert_fits_width(page)
    assert len(easypost_fake.purchases) == 1 and shipstation_fake.purchases == []


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_batch_page_follows_the_job_and_names_each_failure(signed_in, merchant_a, easypost_fake, viewport):
    m = merchant_a.merchant
    easypost_account(m)
    good = pending_shipment(m, number="5001")
    bad = pending_shipment(m, number="5002", postcode=UNDELIVERABLE_ZIP)
    with tenant_scope(m):  # queued, not yet run: the page shows it waiting and refreshes itself
        job = job_create(merchant=m, kind=BATCH_KIND, description="Labels for 2 orders", total=2,
                         created_by=merchant_a.user)
        batch = LabelBatch.objects.create(merchant=m, job=job, order_ids=[good.order_id, bad.order_id])
        bad_number = Order.objects.get(pk=bad.order_id).number
    page = signed_in(merchant_a, viewport=viewport)
    page.goto(f"/label-batches/{batch.pk}/")
    expect(page.locator("#batch-progress")).to_contain_text("0 of 2 orders")
    assert page.locator('meta[http-equiv="refresh"]').count() == 1

    with tenant_scope(m):
        label_batch_run(merchant=m, job_id=job.pk)  # the worker's part

    expect(page.locator("#batch-status")).to_have_text("Succeeded")  # the page refreshed on its own
    expect(page.locator("#batch-progress")).to_contain_text("2 of 2 orders · 1 label bought · 1 failed")
    failed = page.locator("#batch-failed tbody tr")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text(f"the destination ZIP code {UNDELIVERABLE_ZIP} does not exist.")
    expect(failed.get_by_role("link", name=bad_number)).to_have_attribute("href", f"/orders/{bad.order_id}/")
    expect(page.locator("#merged-pdf")).to_have_attribute("href", f"/api/v1/label-batches/{batch.pk}/merged-pdf/")
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    assert_fits_width(page)
    assert page_problems(page) == []


def test_buy_labels_from_the_order_list_asks_for_the_rule_then_shows_the_batch(signed_in, merchant_a, easypost_fake):
    m = merchant_a.merchant
    easypost_account(m)
    shipments = [pending_shipment(m, number=n) for n in ("6001", "6002")]
    with tenant_scope(m):
        numbers = [Order.objects.get(pk=s.order_id).number for s in shipments]
    page = signed_in(merchant_a, viewport=PHONE)
    page.goto("/orders/")
    for number in numbers:
        page.get_by_label(f"Select {number}").check()
    page.locator("#queue-tools > summary").click()  # a phone folds the bulk bar with the filters
    page.locator("select[name=action]").select_option("buy_labels")
    page.get_by_role("button", name="Apply").click()

    expect(page.get_by_role("heading", name="Buy labels for 2 orders?")).to_be_visible()
    assert_fits_width(page)
    page.get_by_label("Fastest (fewest delivery days)").check()
    page.get_by_role("button", name="Buy 2 labels").click()

    expect(page.locator("#batch-status")).to_have_text("Succeeded")
    expect(page.locator("#batch-ok tbody tr")).to_have_count(2)
    assert len(easypost_fake.purchases) == 2
    with tenant_scope(m):
        assert set(Label.objects.values_list("service", flat=True)) == {"Priority"}  # fastest of the fake's
