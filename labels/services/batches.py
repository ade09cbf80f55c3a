"""Label batches: many orders' labels in one background job, each order committed on its own (a
failure is that order's result, in the carrier's words, and the rest go on), then one merged PDF.

The job (jobs.WorkerJob, run through `job_run`) carries status, progress and attempts; a batch run again
(a retried task) skips the orders already done, and buying is exactly-once per shipment anyway.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile

from django.core.files.base import ContentFile
from django.db import transaction
from pypdf import PdfReader, PdfWriter

from accounts.models import Merchant
from core.errors import ApplicationError, NotFound, ValidationFailed
from jobs.services import JobRun, job_create, job_run
from labels.models import Label, LabelBatch
from labels.services.files import stored_open
from labels.services.purchase import FILE_EXTENSIONS, label_buy
from labels.services.rules import rule_clean
from orders import services as order_services
from orders.models import Order

logger = logging.getLogger("labels.batches")

BATCH_KIND = "labels.label_batch"
BATCH_TASK = "labels.label_batch_run"
BATCH_MAX = 500


def label_batch_create(*, merchant: Merchant, actor, order_ids: list[int], rule: str | None = None) -> LabelBatch:
    """Check the orders are the merchant's (another merchant's id is 404), then queue the job. With no
    rule each order's rate is chosen by the merchant's shipping rules (its channel and country)."""
    ids = list(dict.fromkeys(order_ids))
    if not ids or len(ids) > BATCH_MAX:
        raise ValidationFailed(f"Give between 1 and {BATCH_MAX} orders.", details={"fields": {"order_ids": "1 to 500 ids."}})
    rule = rule_clean(rule) if rule is not None else ""
    found = set(Order.objects.filter(merchant=merchant, pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound("Some of these orders do not exist.", details={"order_ids": missing[:50]})
    # One transaction: the job's task is queued on commit, so the worker finds the batch it runs (in
    # autocommit the task went out, and ran eagerly, before the batch row existed).
    with transaction.atomic():
        job = job_create(merchant=merchant, kind=BATCH_KIND, description=f"Labels for {len(ids)} orders",
                         params={"rule": rule or "merchant rules", "orders": len(ids)}, total=len(ids), created_by=actor,
                         max_attempts=3, task_name=BATCH_TASK)
        return LabelBatch.objects.create(merchant=merchant, job=job, rule=rule, order_ids=ids)


def _one(merchant: Merchant, actor, order_id: int, rule: str | None) -> dict:
    result = {"order_id": order_id, "ok": False, "shipment_id": None, "tracking_number": "", "error": ""}
    try:
        order = Order.objects.get(merchant=merchant, pk=order_id)
        shipment = order_services.shipment_pending_ensure(merchant=merchant, order=order, actor=actor)
        result["shipment_id"] = shipment.pk
        shipped = label_buy(merchant=merchant, actor=actor, shipment=shipment, rule=rule)
    except Order.DoesNotExist:
        result["error"] = "This order no longer exists."
        return result
    except ApplicationError as exc:
        result["error"] = exc.message
        return result
    result.update(ok=True, tracking_number=shipped.tracking_number)
    return result


def label_batch_run(*, merchant: Merchant, job_id: int) -> str:
    """The task's body: each order in turn (orders done by an earlier attempt are kept), progress after
    each, then the merged PDF of every label bought."""

    def body(run: JobRun) -> dict:
        batch = LabelBatch.objects.get(merchant=merchant, job_id=job_id)
        actor = run.job.created_by
        done = {r["order_id"]: r for r in batch.results}
        results = []
        for index, order_id in enumerate(batch.order_ids, start=1):
            previous = done.get(order_id)
            result = previous if previous and previous["ok"] else _one(merchant, actor, order_id, batch.rule or None)
            results.append(result)
            LabelBatch.objects.filter(merchant=merchant, pk=batch.pk).update(results=results)
            run.progress(index)
        batch.results = results
        _merge(merchant, batch)
        ok = sum(1 for r in results if r["ok"])
        return {"labels": ok, "errors": len(results) - ok}

    return job_run(merchant=merchant, job_id=job_id, body=body, kind=BATCH_KIND)


def _merge(merchant: Merchant, batch: LabelBatch) -> None:
    """One PDF of the batch's PDF labels, in the batch's order, for one print run; the labels in other
    formats (PNG, ZPL: a merchant who changed format mid-batch, or prints on a thermal printer) cannot be
    merged into it and go into one zip, a file per label named by order number."""
    shipment_ids = [r["shipment_id"] for r in batch.results if r["ok"]]
    labels = {lb.shipment_id: lb for lb in Label.objects.filter(merchant=merchant, shipment_id__in=shipment_ids,
                                                                  status=Label.Status.BOUGHT)
              .select_related("shipment__order")}
    writer = PdfWriter()
    others = io.BytesIO()
    with zipfile.ZipFile(others, "w", zipfile.ZIP_DEFLATED) as archive:
        for shipment_id in shipment_ids:
            label = labels.get(shipment_id)
            if label is None or not label.file:
                continue
            try:
                with stored_open(label.file) as fh:
                    content = fh.read()
            except NotFound:  # one file gone from storage leaves it out of the print run, not the whole merge
                logger.warning("labels.batch.file_missing batch=%s label=%s", batch.pk, label.pk)
                continue
            if label.label_format == "PDF":
                for page in PdfReader(io.BytesIO(content)).pages:
                    writer.add_page(page)
            else:
                order = label.shipment.order
                number = re.sub(r"[^A-Za-z0-9_-]", "", order.number) or str(order.pk)  # "#1001" → "1001"
                archive.writestr(f"{number}-{shipment_id}.{FILE_EXTENSIONS.get(label.label_format, 'bin')}", content)
        zipped = bool(archive.namelist())
    fields = ["results"]
    if writer.pages:
        out = io.BytesIO()
        writer.write(out)
        batch.merged_pdf.save(f"batch-{batch.pk}.pdf", ContentFile(out.getvalue()), save=False)
        fields.append("merged_pdf")
    if zipped:
        batch.labels_zip.save(f"batch-{batch.pk}.zip", ContentFile(others.getvalue()), save=False)
        fields.append("labels_zip")
    if len(fields) > 1:
        batch.save(update_fields=fields)
