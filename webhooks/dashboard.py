"""Dashboard pages of the webhook inbox (/webhook-events/; webhooks.views is the public receiver): the list
with the API's filters and the last 24 hours per store, one event's page, and replay (one event, or every
event a filter matches).

Reads go through webhooks.selectors and replays through webhooks.replay, as the API's do. Any member may
replay (see webhooks.api for why).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin
from core.errors import ApplicationError, ValidationFailed
from core.parsing import filters_lenient
from webhooks import replay, selectors
from webhooks.forms import WebhookEventFilterForm

PAGE_SIZE = 50
FILTER_ALIASES = {"from": ("from", "received_from"), "received_from": ("from", "received_from"),
                  "to": ("to", "received_to"), "received_to": ("to", "received_to")}


def _filters_lenient(params: QueryDict) -> tuple[selectors.WebhookEventFilters, list[str]]:
    return filters_lenient(selectors.WebhookEventFilters.from_params, params, aliases=FILTER_ALIASES)


def _list_url(query: dict[str, str]) -> str:
    return reverse("webhook-event-list") + (f"?{urlencode(query)}" if query else "")


class WebhookEventListView(MerchantRequiredMixin, TemplateView):
    template_name = "webhooks/list.html"

    def get(self, request, *args, **kwargs):
        filters, problems = _filters_lenient(request.GET)
        for problem in problems:
            messages.error(request, problem)
        qs = selectors.webhook_event_list(merchant=self.merchant, filters=filters)
        try:
            page = selectors.webhook_event_page(qs, after=request.GET.get("after", ""), size=PAGE_SIZE)
        except ValidationFailed as exc:
            messages.error(request, f"{exc.message} Showing the first page.")
            page = selectors.webhook_event_page(qs, size=PAGE_SIZE)
        counts = selectors.webhook_event_counts(merchant=self.merchant)
        query = filters.as_query()
        return self.render_to_response(self.get_context_data(
            events=page.rows, next_cursor=page.next_cursor, is_first_page=not request.GET.get("after"),
            counts=counts, query=query, bulk_replay_url=reverse("webhook-event-bulk-replay") + (
                f"?{urlencode(query)}" if query else ""),
            filter_form=WebhookEventFilterForm(request.GET or None,
                                               store_choices=[(i.pk, i.name) for i in counts]),
        ))


class WebhookEventDetailView(MerchantRequiredMixin, TemplateView):
    template_name = "webhooks/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        event = selectors.webhook_event_get(merchant=self.merchant, pk=kwargs["pk"])
        ctx.update(event=event, body=selectors.webhook_event_body(event),
                   result=selectors.webhook_event_result_text(event), headers=sorted(event.headers.items()))
        return ctx


class WebhookEventReplayView(MerchantRequiredMixin, View):
    """POST: process one event again."""

    def post(self, request, pk: int):
        event = selectors.webhook_event_get(merchant=self.merchant, pk=pk)
        try:
            replay.webhook_event_replay(merchant=self.merchant, event=event)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Event {event.pk} ({event.topic}) is queued for processing again.")
        return HttpResponseRedirect(reverse("webhook-event-detail", args=[event.pk]))


class WebhookEventBulkReplayView(MerchantRequiredMixin, TemplateView):
    """GET: how many events the filters match, and a button; POST: replay them (capped per request)."""

    template_name = "webhooks/bulk_replay.html"

    def get(self, request, *args, **kwargs):
        filters, problems = _filters_lenient(request.GET)
        if problems:
            for problem in problems:
                messages.error(request, problem)
            return HttpResponseRedirect(_list_url(filters.as_query()))
        matched = selectors.webhook_event_filter(merchant=self.merchant, filters=filters).count()
        return self.render_to_response(self.get_context_data(
            matched=matched, cap=replay.BULK_REPLAY_MAX, query=filters.as_query(),
            back=_list_url(filters.as_query()),
        ))

    def post(self, request, *args, **kwargs):
        filters, problems = _filters_lenient(request.POST)
        if problems:  # the confirmation carried them; a tampered value replays nothing
            for problem in problems:
                messages.error(request, problem)
            return HttpResponseRedirect(_list_url(filters.as_query()))
        result = replay.webhook_events_replay_filtered(merchant=self.merchant, filters=filters)
        messages.success(request, f"{result.replayed:,} {ngettext('event', 'events', result.replayed)} queued for processing again"
                                  + (f"; {result.skipped} skipped (body pruned)" if result.skipped else "")
                                  + (f"; {result.remaining} more match: replay again for the next batch"
                                     if result.remaining else "") + ".")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            back = _list_url(filters.as_query())
        return HttpResponseRedirect(back)
