"""A batch of labels: one background job, each order on its own, the carrier's words for those that
fail, one merged PDF of every label bought."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader

from accounts.tenancy import tenant_scope
from labels.models import Label
from tests.fakes.easypost.server import UNDELIVERABLE_ZIP
from tests.labels.helpers import easypost_account, pending_shipment

pytestmark = pytest.mark.django_db
WORDS = (f"No carrier could rate this shipment: USPS: Unable to retrieve rates for this address: the destination "
         f"ZIP code {UNDELIVERABLE_ZIP} does not exist.; UPS: Unable to retrieve rates for this address: the "
         f"destination ZIP code {UNDELIVERABLE_ZIP} does not exist.")


def test_twenty_orders_with_three_undeliverable_give_17_labels_3_errors_and_a_17_page_pdf(
        merchant_a, easypost_fake, django_capture_on_commit_callbacks):
    easypost_account(merchant_a.merchant)
    bad = {4, 9, 15}
    order_ids = []
    for n in range(20):
        shipment = pending_shipment(merchant_a.merchant, number=f"B{n}", on_hand=100,
                                    postcode=UNDELIVERABLE_ZIP if n in bad else "97477")
        order_ids.append(shipment.order_id)

    with django_capture_on_commit_callbacks(execute=True):
        created = merchant_a.api.post("/api/v1/label-batches/", {"order_ids": order_ids, "rule": "cheapest"},
                                      format="json")
    batch = merchant_a.api.get(f"/api/v1/label-batches/{created.json()['id']}/").json()

    assert created.status_code == 202, created.content
    assert (batch["status"], batch["progress"]) == ("succeeded", {"done": 20, "total": 20})
    assert [r["order_id"] for r in batch["results"]] == order_ids
    failed = [r for r in batch["results"] if not r["ok"]]
    assert [r["order_id"] for r in failed] == [order_ids[n] for n in sorted(bad)]
    assert {r["error"] for r in failed} == {WORDS}
    assert sum(1 for r in batch["results"] if r["ok"] and r["tracking_number"]) == 17
    assert len(easypost_fake.purchases) == 17
    pdf = merchant_a.api.get(f"/api/v1/label-batches/{batch['id']}/merged-pdf/")
    reader = PdfReader(io.BytesIO(b"".join(pdf.streaming_content)))
    assert len(reader.pages) == 17
    assert [p.extract_text().strip() for p in reader.pages] == [
        r["tracking_number"] for r in batch["results"] if r["ok"]]
    with tenant_scope(merchant_a.merchant):
        assert Label.objects.filter(status="bought").count() == 17


def test_an_order_of_another_merchant_is_404_and_no_job_starts(merchant_a, merchant_b, easypost_fake):
    shipment = pending_shipment(merchant_a.merchant)

    response = merchant_b.api.post("/api/v1/label-batches/", {"order_ids": [shipment.order_id]}, format="json")

    assert response.status_code == 404
    assert easypost_fake.requests == []


@pytest.mark.django_db(transaction=True)
def test_the_batchs_task_finds_its_batch_however_soon_it_starts(merchant_a, easypost_fake):
    """The job's task is sent when the job commits; a worker that starts it at once (eager here, with
    real commits) must find the batch row: both commit together."""
    easypost_account(merchant_a.merchant)
    order_ids = [pending_shipment(merchant_a.merchant, number=f"R{n}").order_id for n in range(2)]

    created = merchant_a.api.post("/api/v1/label-batches/", {"order_ids": order_ids}, format="json")
    batch = merchant_a.api.get(f"/api/v1/label-batches/{created.json()['id']}/").json()

    assert created.status_code == 202, created.content
    assert (batch["status"], [r["ok"] for r in batch["results"]]) == ("succeeded", [True, True])
    assert len(easypost_fake.purchases) == 2


def test_png_and_zpl_labels_go_into_a_zip_beside_the_merged_pdf(merchant_a, easypost_fake,
                                                                django_capture_on_commit_callbacks):
    """A ZPL merchant's batch: nothing to merge into a PDF, every label in the zip, named by order."""
    easypost_account(merchant_a.merchant)
    shipments = [pending_shipment(merchant_a.merchant, number=f"Z{n}", on_hand=100) for n in range(3)]
    merchant_a.api.patch("/api/v1/merchant/", {"label_format": "ZPL"}, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        created = merchant_a.api.post("/api/v1/label-batches/", {"order_ids": [s.order_id for s in shipments[1:]]},
                                      format="json")
    batch = merchant_a.api.get(f"/api/v1/label-batches/{created.json()['id']}/").json()

    assert [r["ok"] for r in batch["results"]] == [True, True]
    assert batch["merged_pdf_url"] is None
    archive = merchant_a.api.get(f"/api/v1/label-batches/{batch['id']}/labels-zip/")
    assert archive["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))) as z:
        assert sorted(z.namelist()) == [f"Z{n}-{shipments[n].pk}.zpl" for n in (1, 2)]
        assert z.read(f"Z1-{shipments[1].pk}.zpl").startswith(b"^XA")
