"""Label files in storage (local disk, and S3 on a moto server over HTTP), served only to their merchant:
through the authenticated API or a short-lived link; nothing left behind when a purchase rolls back."""

from __future__ import annotations

import base64
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from pypdf import PdfReader

from accounts.tenancy import tenant_scope
from labels import services
from labels.models import Label
from orders import services as order_services
from orders.models import Shipment
from tests.fakes.easypost.server import minimal_pdf
from tests.fakes.s3.fixtures import s3_client, stored_names
from tests.labels.helpers import easypost_account, pending_shipment

pytestmark = pytest.mark.django_db


def bought(tenant, easypost_fake) -> tuple[Shipment, str]:
    easypost_account(tenant.merchant)
    shipment = pending_shipment(tenant.merchant)
    response = tenant.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")
    assert response.status_code == 200, response.content
    return shipment, response.json()["tracking_number"]


def fetch(url: str) -> tuple[int, bytes, str]:
    """Open a link as a printer or a new browser tab would: no session, no API key."""
    if url.startswith("http://testserver/"):
        response = Client().get(url.removeprefix("http://testserver"))
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, body, response.get("Content-Type", "")
    answer = requests.get(url, timeout=10)
    return answer.status_code, answer.content, answer.headers.get("Content-Type", "")


def test_the_label_is_kept_privately_and_served_to_its_merchant_only(merchant_a, merchant_b, easypost_fake,
                                                                      label_storage):
    shipment, tracking = bought(merchant_a, easypost_fake)
    with tenant_scope(merchant_a.merchant):
        label = Label.objects.get(shipment=shipment)

    file = merchant_a.api.get(f"/api/v1/shipments/{shipment.pk}/label/")

    assert stored_names(label_storage) == [label.file.name]
    assert label.file.name == f"labels/{merchant_a.merchant.pk}/label-{shipment.pk}-1/label-{shipment.pk}-1.pdf"
    assert file.status_code == 200 and b"".join(file.streaming_content) == minimal_pdf(tracking)
    assert file["Cache-Control"] == "private, no-store"
    assert merchant_b.api.get(f"/api/v1/shipments/{shipment.pk}/label/").status_code == 404
    assert merchant_b.api.get(f"/api/v1/shipments/{shipment.pk}/label/link/").status_code == 404
    if label_storage[0] == "s3":
        endpoint, bucket = label_storage[1]
        grants = s3_client(endpoint).get_object_acl(Bucket=bucket, Key=label.file.name)["Grants"]
        assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # the owner's only: a private object
        assert "URI" not in grants[0]["Grantee"]  # no AllUsers / AuthenticatedUsers group
        assert requests.get(f"{endpoint}/{bucket}/{label.file.name}", timeout=10).status_code == 403  # unsigned


def test_a_link_opens_the_label_without_credentials_for_a_short_while(merchant_a, easypost_fake, label_storage,
                                                                       settings):
    shipment, tracking = bought(merchant_a, easypost_fake)

    response = merchant_a.api.get(f"/api/v1/shipments/{shipment.pk}/label/link/")

    assert response.status_code == 200, response.content
    link = response.json()
    status, body, content_type = fetch(link["url"])
    assert (status, body, content_type) == (200, minimal_pdf(tracking), "application/pdf")
    if label_storage[0] == "s3":  # S3's own presigned URL, expiring with our setting
        query = parse_qs(urlsplit(link["url"]).query)
        assert query["X-Amz-Expires"] == [str(settings.LABEL_LINK_SECONDS)] and query["X-Amz-Signature"]
        assert link["url"].startswith(label_storage[1][0])
    else:
        assert link["url"].startswith("http://testserver/shipments/files/")


def test_a_link_of_ours_that_is_edited_or_too_old_is_refused(merchant_a, merchant_b, easypost_fake, settings,
                                                             tmp_path):
    """On local disk the link is ours (django.core.signing): B editing its own link to name A's label
    breaks the signature, and a link older than LABEL_LINK_SECONDS is refused. (S3 checks its presigned
    URLs itself: moto refuses an unsigned read of a private object but does not check a presigned URL's
    signature or expiry, so that half is S3's own, untested here.)"""
    settings.MEDIA_ROOT = str(tmp_path)
    shipment_a, _ = bought(merchant_a, easypost_fake)
    shipment_b = pending_shipment(merchant_b.merchant, number="2001")
    easypost_account(merchant_b.merchant)
    merchant_b.api.post(f"/api/v1/shipments/{shipment_b.pk}/label/", {"rule": "cheapest"}, format="json")
    with tenant_scope(merchant_a.merchant):
        label_a = Label.objects.get(shipment=shipment_a)
    with tenant_scope(merchant_b.merchant):
        label_b = Label.objects.get(shipment=shipment_b)
    link_b = merchant_b.api.get(f"/api/v1/shipments/{shipment_b.pk}/label/link/").json()["url"]
    token = link_b.rstrip("/").rsplit("/", 1)[-1]
    payload, rest = token.split(":", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert data == {"k": "label", "m": merchant_b.merchant.pk, "id": label_b.pk}
    forged = base64.urlsafe_b64encode(json.dumps(
        {"k": "label", "m": merchant_a.merchant.pk, "id": label_a.pk}, separators=(",", ":")).encode()
    ).decode().rstrip("=")

    assert fetch(link_b)[0] == 200
    assert fetch(link_b.replace(payload, forged))[0] == 404
    assert fetch(link_b.replace(rest, rest[:-2] + ("AA" if not rest.endswith("AA") else "BB")))[0] == 404
    settings.LABEL_LINK_SECONDS = -1  # every link is now older than the links' life
    status, body, _ = fetch(link_b)
    assert status == 403 and b"expired" in body


def test_the_batch_merged_pdf_url_is_a_short_lived_link(merchant_a, easypost_fake, label_storage,
                                                         django_capture_on_commit_callbacks):
    easypost_account(merchant_a.merchant)
    order_ids = [pending_shipment(merchant_a.merchant, number=f"M{n}").order_id for n in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        created = merchant_a.api.post("/api/v1/label-batches/", {"order_ids": order_ids}, format="json")

    batch = merchant_a.api.get(f"/api/v1/label-batches/{created.json()['id']}/").json()

    status, body, content_type = fetch(batch["merged_pdf_url"])
    assert (status, content_type) == (200, "application/pdf")
    assert len(PdfReader(io.BytesIO(body)).pages) == 2
    assert len(stored_names(label_storage)) == 3  # two labels and the merged PDF


def test_a_purchase_that_rolls_back_leaves_no_file(merchant_a, easypost_fake, label_storage):
    """The carrier bought and the file was written, then shipping failed (the order was put on hold while
    the purchase waited): the transaction rolls back and the file goes with it."""
    easypost_account(merchant_a.merchant)
    shipment = pending_shipment(merchant_a.merchant)
    with tenant_scope(merchant_a.merchant):
        rates = services.shipment_rates(merchant=merchant_a.merchant, shipment=shipment).rates
        services.purchase._label_intend(merchant=merchant_a.merchant, shipment=shipment, rate=rates[0])
        order_services.order_hold(merchant=merchant_a.merchant, order=shipment.order, reason="Customer called")

    response = merchant_a.api.post(f"/api/v1/shipments/{shipment.pk}/label/", {"rule": "cheapest"}, format="json")

    assert response.status_code == 409, response.content
    assert len(easypost_fake.purchases) == 1
    assert stored_names(label_storage) == []
    with tenant_scope(merchant_a.merchant):
        label = Label.objects.get(shipment=shipment)
        assert (label.status, label.file.name) == ("intended", "")


def test_a_label_file_gone_from_storage_is_404_in_words_not_a_500(merchant_a, easypost_fake, label_storage):
    """The record stays (tracking, cost); the file was removed from storage behind our back."""
    shipment, _ = bought(merchant_a, easypost_fake)
    with tenant_scope(merchant_a.merchant):
        label = Label.objects.get(shipment=shipment)
        label.file.storage.delete(label.file.name)

    response = merchant_a.api.get(f"/api/v1/shipments/{shipment.pk}/label/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "file_missing"
