"""Label files and merged batch PDFs leave storage only to their merchant: through the authenticated API,
or through a short-lived link the API hands to that merchant.

The link is S3's own presigned URL when the storage presigns (django-storages' S3Storage with
`querystring_auth`: the object stays private and S3 checks the signature and the expiry), and on local
disk a link of ours: `django.core.signing` over (kind, merchant, id) with a timestamp, read back with
`LABEL_LINK_SECONDS` as its maximum age. The token names the merchant, so a token of merchant B edited to
name A's label fails its signature; the object is looked up within the merchant the token names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core import signing
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import Merchant
from accounts.tenancy import tenant_scope
from core.errors import NotFound, PermissionDenied
from labels.models import Label, LabelBatch

LINK_SALT = "labels.file-link"
CONTENT_TYPES = {"PDF": "application/pdf", "PNG": "image/png", "ZPL": "application/zpl"}


@dataclass(frozen=True)
class StoredFile:
    file: FieldFile
    filename: str
    content_type: str


@dataclass(frozen=True)
class FileLink:
    url: str
    expires_at: datetime


def stored_open(file: FieldFile):
    """Open a stored label or batch file for reading. A file gone from storage (deleted from the bucket, a
    disk restored without `var/media`) is a 404 saying so, never a 500: the label's record (tracking,
    cost) is intact and the carrier can print it again."""
    try:
        return file.open("rb")
    except (OSError, ClientError, BotoCoreError) as exc:
        raise NotFound("This file is no longer in storage; download the label again from the carrier.",
                       code="file_missing") from exc


def label_stored(label: Label) -> StoredFile:
    ext = label.file.name.rsplit(".", 1)[-1]
    return StoredFile(file=label.file, filename=f"label-{label.shipment_id}.{ext}",
                      content_type=CONTENT_TYPES.get(label.label_format, "application/octet-stream"))


def batch_stored(batch: LabelBatch) -> StoredFile:
    if not batch.merged_pdf:
        raise NotFound("This batch has no labels to print yet.")
    return StoredFile(file=batch.merged_pdf, filename=f"labels-batch-{batch.pk}.pdf", content_type="application/pdf")


def _presigns(stored: StoredFile) -> bool:
    return bool(getattr(stored.file.storage, "querystring_auth", False))


def file_link(*, merchant: Merchant, kind: str, pk: int, stored: StoredFile, base_url: str) -> FileLink:
    """A link to one stored file that works for LABEL_LINK_SECONDS (`base_url`: the request's origin)."""
    seconds = int(settings.LABEL_LINK_SECONDS)
    expires_at = timezone.now() + timedelta(seconds=seconds)
    if _presigns(stored):
        url = stored.file.storage.url(stored.file.name, expire=seconds, parameters={
            "ResponseContentType": stored.content_type,
            "ResponseContentDisposition": f'inline; filename="{stored.filename}"'})
        return FileLink(url=url, expires_at=expires_at)
    token = signing.dumps({"k": kind, "m": merchant.pk, "id": pk}, salt=LINK_SALT)
    return FileLink(url=base_url.rstrip("/") + reverse("label-file-link", args=[token]), expires_at=expires_at)


def file_link_open(token: str) -> StoredFile:
    """The file a link of ours names; a tampered link is 404 (it names nothing), an old one 403."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=int(settings.LABEL_LINK_SECONDS))
    except signing.SignatureExpired:
        raise PermissionDenied("This link has expired; ask for the file again.", code="link_expired")
    except signing.BadSignature:
        raise NotFound("No such file.")
    merchant_id, pk, kind = data.get("m"), data.get("id"), data.get("k")
    if not isinstance(merchant_id, int) or not isinstance(pk, int) or kind not in ("label", "batch"):
        raise NotFound("No such file.")
    with tenant_scope(merchant_id):  # the merchant the signed token names, and only it
        if kind == "label":
            label = Label.objects.filter(merchant_id=merchant_id, pk=pk, status=Label.Status.BOUGHT).exclude(
                file="").first()
            if label is None:
                raise NotFound("No such file.")
            return label_stored(label)
        batch = LabelBatch.objects.filter(merchant_id=merchant_id, pk=pk).first()
        if batch is None:
            raise NotFound("No such file.")
        return batch_stored(batch)
