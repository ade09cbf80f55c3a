"""Dashboard pages of bulk actions: run, confirm (cancel, mark fulfilled; the order page's cancel too), and a
big selection's job.

The list posts its bulk bar (templates/orders/_bulk_actions.html) here. Nothing destructive runs
without the confirmation page's reason; a selection of more than a page (or "all matching the
filter") runs as a job whose page lists every order done and every failure by number.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin
from core.errors import ApplicationError, NotFound, ValidationFailed
from core.parsing import parse_id
from jobs import selectors as job_selectors
from orders import services
from orders.bulk_actions import bulk_action_get
from orders.services.bulk import ACTION_LABELS, INLINE_MAX, JOB_KIND, JOB_MAX


def bulk_back_url(request) -> str:
    """Where the bulk bar was posted from (its `next`), if it is one of our pages; else the order list.
    Extra actions (orders.bulk_actions) send the merchant back here too."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        back = reverse("order-list")
    return back


def _selection(request, merchant) -> tuple[list[int], bool]:
    """(order ids, whether the selection was "all matching the filter")."""
    if request.POST.get("scope") == "all":
        return services.bulk_all_matching(merchant=merchant, params=QueryDict(request.POST.get("filter", ""))), True
    return [parse_id(i, field="ids") for i in request.POST.getlist("ids") if i.strip()], False


def result_messages(request, result: dict, action: str) -> None:
    """What was done, grouped by what was done ("2 orders cancelled: #1, #2."), then every order skipped,
    grouped by why, by number, none dropped."""
    for group in services.bulk_outcome_groups(action=action, result=result):
        numbers = ", ".join(o["number"] or "an order no longer here" for o in group.orders)
        (messages.success if group.done else messages.error)(request, f"{group.words.rstrip('.')} — {numbers}.")


class OrderBulkView(MerchantRequiredMixin, View):
    """POST the bar: action, ids (or scope=all with the list's filter), tag; reason and confirmed for the
    actions that ask first."""

    def post(self, request):
        back, action = bulk_back_url(request), request.POST.get("action", "")
        if not action:
            messages.warning(request, "Choose an action first.")
            return HttpResponseRedirect(back)
        try:
            ids, all_matching = _selection(request, self.merchant)
        except ValidationFailed as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(back)
        if not ids:
            messages.warning(request, "Select some orders first." if not all_matching else "No orders match.")
            return HttpResponseRedirect(back)
        extra = bulk_action_get(action)
        if extra is not None:  # e.g. packing slips or labels, supplied by the labels app
            return extra.handler(request, self.merchant, ids)
        if action not in services.BULK_ACTIONS:  # "return" is one order's, from its own page
            messages.error(request, "Unknown action.")
            return HttpResponseRedirect(back)
        reason = request.POST.get("reason", "").strip()
        if action in services.CONFIRM_ACTIONS and (request.POST.get("confirmed") != "yes" or not reason):
            return self._confirm(request, ids, action, back, asked=request.POST.get("confirmed") == "yes")
        tag = request.POST.get("tag", "")
        try:
            if all_matching or len(ids) > INLINE_MAX:
                job = services.orders_bulk_start(merchant=self.merchant, order_ids=ids, action=action,
                                                 actor=request.user, tag=tag, reason=reason)
                return HttpResponseRedirect(reverse("order-bulk-job", args=[job.pk]))
            result = services.orders_bulk_action(merchant=self.merchant, order_ids=ids, action=action,
                                                 actor=request.user, tag=tag, reason=reason)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(back)
        result_messages(request, result, action)
        return HttpResponseRedirect(back)

    def _confirm(self, request, ids, action, back, *, asked: bool):
        if len(ids) > JOB_MAX:
            messages.error(request, f"At most {JOB_MAX:,} orders at once; narrow the filter.")
            return HttpResponseRedirect(back)
        by_filter = request.POST.get("scope") == "all"
        return confirm_page(request, merchant=self.merchant, ids=ids, action=action, back=back, asked=asked,
                            filter_query=request.POST.get("filter", "") if by_filter else None)


def confirm_page(request, *, merchant, ids: list[int], action: str, back: str, asked: bool,
                 filter_query: str | None = None, post_to: str = "", restock: bool | None = None) -> HttpResponse:
    """The confirmation page of a cancel or mark fulfilled, for a selection or one order (post_to: the
    order's own action URL): what will happen, here and on each channel; a reason is required. Posting
    it without a reason shows it again (400) and changes nothing. `restock`: a return's choice, carried on."""
    preview = services.bulk_preview(merchant=merchant, order_ids=ids, action=action, restock=restock is not False)
    by_filter = filter_query is not None
    ctx = {"preview": preview, "action": action, "next": back, "reason_missing": asked,
           "ids": [] if by_filter else ids, "scope": "all" if by_filter else "", "filter": filter_query or "",
           "more": preview.count - len(preview.numbers), "as_job": by_filter or len(ids) > INLINE_MAX,
           "post_to": post_to, "reason": request.POST.get("reason", "").strip(), "restock": restock}
    return render(request, "orders/bulk_confirm.html", ctx, status=400 if asked else 200)


class OrderBulkJobView(MerchantRequiredMixin, TemplateView):
    """A big bulk action: progress while it runs, then every order done and every failure by number."""

    template_name = "orders/bulk_result.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        job = job_selectors.job_get(merchant=self.merchant, pk=self.kwargs["pk"])
        if job.kind != JOB_KIND:
            raise NotFound("No such bulk action.")
        result = job.result or {}
        action = job.params.get("action", "")
        ctx.update(job=job, action_label=ACTION_LABELS.get(action, ""),
                   groups=services.bulk_outcome_groups(action=action, result=result),
                   failed_count=len(result.get("failed", [])), done_count=len(result.get("done", [])))
        return ctx
