"""Dashboard pages of label batches and the order list's bulk actions that labels adds: "Buy labels…"
(the rule asked first, then the batch's job and its page), "Packing slips" and "Pick list" (PDFs)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin
from core.errors import ApplicationError
from core.parsing import parse_id
from jobs.registry import JobSummary
from labels import selectors, services
from labels.models import CarrierAccount, LabelBatch
from labels.services import paperwork
from labels.services.batches import BATCH_MAX
from labels.views import PAGE, RULE_LABELS
from orders.bulk_views import bulk_back_url
from orders.models import Order


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _paperwork(request, make, merchant, order_ids, filename: str) -> HttpResponse:
    try:
        return _pdf(make(merchant=merchant, order_ids=list(order_ids)), filename)
    except ApplicationError as exc:  # too many orders, or one gone meanwhile
        messages.error(request, exc.message)
        return HttpResponseRedirect(bulk_back_url(request))


def packing_slips_for_orders(request, merchant, order_ids) -> HttpResponse:
    """Bulk action "Packing slips": one PDF, a page per order, in the list's order."""
    return _paperwork(request, paperwork.packing_slips, merchant, order_ids, "packing-slips.pdf")


def pick_list_for_orders(request, merchant, order_ids) -> HttpResponse:
    """Bulk action "Pick list": the chosen orders' units summed by SKU and location, as a PDF."""
    return _paperwork(request, paperwork.pick_list, merchant, order_ids, "pick-list.pdf")


def label_batch_confirm(request, merchant, order_ids) -> HttpResponse:
    """Bulk action "Buy labels": a page naming the orders and asking for the rule before money is spent."""
    ids = list(order_ids)
    if len(ids) > BATCH_MAX:
        messages.error(request, f"At most {BATCH_MAX} orders in one batch of labels; narrow the selection.")
        return HttpResponseRedirect(bulk_back_url(request))
    numbers = list(Order.objects.filter(merchant=merchant, pk__in=ids).order_by("id")
                   .values_list("number", flat=True)[:20])
    return render(request, "labels/batch_new.html", {"ids": ids, "numbers": numbers, "more": len(ids) - len(numbers),
                                                     "rules": RULE_LABELS,
                                                     "accounts": selectors.carrier_account_list(merchant=merchant)
                                                     .filter(status=CarrierAccount.Status.ACTIVE).count()})


def label_batch_job_summary(job) -> JobSummary:
    """The job page of a label batch (jobs.registry): what it bought, and the way to its own page."""
    result = job.result or {}
    lines = [ngettext("%(n)s label bought", "%(n)s labels bought", result["labels"]) % {"n": f"{result['labels']:,}"}
             + ", " + ngettext("%(n)s order failed.", "%(n)s orders failed.", result["errors"])
             % {"n": f"{result['errors']:,}"}] if result else []
    batch = LabelBatch.objects.filter(merchant_id=job.merchant_id, job=job).only("id").first()
    links = [("The batch: each order's result and the labels to print",
              reverse("label-batch-page", args=[batch.pk]))] if batch else []
    return JobSummary(lines=lines, links=links)


class LabelBatchCreateView(MerchantRequiredMixin, View):
    def post(self, request):
        try:
            ids = [parse_id(i, field="ids") for i in request.POST.getlist("ids") if i.strip()]
            batch = services.label_batch_create(merchant=self.merchant, actor=request.user, order_ids=ids,
                                                rule=request.POST.get("rule", "cheapest"))
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("order-list"))
        return HttpResponseRedirect(reverse("label-batch-page", args=[batch.pk]))


class LabelBatchListView(MerchantRequiredMixin, TemplateView):
    template_name = "labels/batch_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(batches=list(selectors.label_batch_list(merchant=self.merchant)[:PAGE]),
                                        **kwargs)


class LabelBatchDetailView(MerchantRequiredMixin, TemplateView):
    """Progress while the job runs (the page refreshes itself, without JavaScript too), then every order's
    result: its tracking, or the carrier's words; the merged PDF of every label bought."""

    template_name = "labels/batch_detail.html"

    def get_context_data(self, **kwargs):
        batch = selectors.label_batch_get(merchant=self.merchant, pk=self.kwargs["pk"])
        orders = {o.pk: o for o in Order.objects.filter(merchant=self.merchant, pk__in=batch.order_ids)
                  .only("id", "number")}
        results = [{**r, "order": orders.get(r["order_id"])} for r in batch.results]
        ok = [r for r in results if r["ok"]]
        return super().get_context_data(batch=batch, job=batch.job, ok=ok, failed=[r for r in results if not r["ok"]],
                                        rule_label=RULE_LABELS.get(batch.rule, batch.rule),
                                        waiting=len(batch.order_ids) - len(results), **kwargs)
