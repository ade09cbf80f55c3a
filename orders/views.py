"""Dashboard pages of the orders app: list, order page, manual order, export, analytics."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import TemplateView

from accounts import selectors as account_selectors
from accounts.tenancy import tenant_scope
from accounts.views import MerchantRequiredMixin
from core.address import RULES, region_choices
from core.csv_stream import csv_streaming_response
from core.errors import ApplicationError, ValidationFailed
from core.parsing import filters_lenient, optional_text, parse_id, parse_int
from orders import charts, selectors, services
from orders.bulk_actions import registered_bulk_actions
from orders.bulk_views import confirm_page
from orders.carriers import carrier_choices, carrier_clean
from orders.channels import channel_list, name_stores, store_choices
from orders.forms import (
    ManualLineFormSet,
    ManualOrderForm,
    MapSkuForm,
    OrderFilterForm,
    ReasonForm,
    SavedViewForm,
    ShipmentForm,
    ShippingAddressForm,
    TagsNotesForm,
)
from orders.models import OrderEvent, OrderStatus
from orders.order_page import order_page_sections_render
from orders.selectors.customers import CUSTOMER_SUGGEST_MAX, customer_suggest
from orders.workflow import SHIPPABLE, allowed_actions, left_to_ship, pending_in

PAGE_SIZE = 50
MAX_LINE_QUANTITY = 1_000_000_000


def _filter_params(request):
    params = request.GET.copy()
    for flag in ("needs_attention", "short"):
        if params.get(flag) == "on":
            params[flag] = "true"
    return params


def _filters(request) -> selectors.OrderFilters:
    """The filters of the query string; a bad value is a 400 (the export) in the error's words."""
    return selectors.OrderFilters.from_params(_filter_params(request))


def _filters_lenient(request) -> tuple[selectors.OrderFilters, list[str]]:
    return filters_lenient(selectors.OrderFilters.from_params, _filter_params(request),
                           aliases=selectors.ORDER_FILTER_ALIASES)


def _queue_filters(request) -> tuple[selectors.OrderFilters, list[str]]:
    """The list's filters; with no tab and no other filter the queue opens on "awaiting shipment". A link
    with filters but no tab (an older bookmark, the export's) keeps its meaning: every tab."""
    filters, problems = _filters_lenient(request)
    if not filters.tab and not filters.as_query():
        filters = replace(filters, tab="awaiting")
    return filters, problems


class OrderListView(MerchantRequiredMixin, TemplateView):
    """The work queue: tabs with counts, sortable columns, keyset pages, the user's saved views."""

    template_name = "orders/list.html"

    def get(self, request, *args, **kwargs):
        filters, problems = _queue_filters(request)
        for problem in problems:
            messages.error(request, problem)
        sort = selectors.parse_sort(request.GET.get("sort", ""), tab=filters.tab)
        qs = selectors.order_queue(merchant=self.merchant, filters=filters, sort=sort)
        try:
            page = selectors.queue_page(qs, sort=sort, after=request.GET.get("after", ""), size=PAGE_SIZE)
        except ValidationFailed as exc:
            messages.error(request, f"{exc.message} Showing the first page.")
            page = selectors.queue_page(qs, sort=sort, size=PAGE_SIZE)
        tabs, late = selectors.queue_counts(merchant=self.merchant, filters=filters)
        stores = store_choices(self.merchant)
        name_stores(self.merchant, page.rows, choices=stores)
        query = filters.as_query()
        view_query = {**query, **({"sort": sort} if sort != selectors.default_sort(filters.tab) else {})}
        return self.render_to_response(self.get_context_data(
            orders=page.rows, next_cursor=page.next_cursor, query=query, is_first_page=not request.GET.get("after"),
            # The form shows the filters applied, by their one name (`?integration=` shows as the store).
            filter_form=OrderFilterForm(query or None, store_choices=stores),
            has_filters=any(k != "tab" for k in query), no_orders_at_all=tabs[-1].count == 0 and len(query) <= 1,
            tabs=[(t, urlencode({**{k: v for k, v in query.items() if k != "tab"}, "tab": t.slug})) for t in tabs],
            active_tab=filters.tab or "all", late_count=late, sort=sort,
            # a search counts late orders up to the cap only (selectors.searched_counts): "1,000+"
            late_shown=(f"{intcomma(selectors.SEARCH_COUNT_CAP)}+" if late > selectors.SEARCH_COUNT_CAP
                        else intcomma(late)),
            # a rare term under 3 characters is looked for among the newest orders only: say so
            search_window=(selectors.SHORT_TERM_WINDOW if filters.search and len(filters.search) < selectors.TRIGRAM_MIN
                           and selectors.search_plan(merchant=self.merchant, term=filters.search,
                                                     want=selectors.search_want(sort)) == "window" else 0),
            late_query=urlencode({**{k: v for k, v in query.items() if k not in ("tab", "late")},
                                  "tab": "all", "late": "true", "sort": "ship_by"}),
            columns=_sort_links(query, sort), sort_options=_sort_options(), view_query=urlencode(view_query),
            filter_count=sum(1 for k in query if k != "tab"),
            saved_views=selectors.saved_view_list(merchant=self.merchant, user=request.user),
            saved_view_form=SavedViewForm(initial={"query": urlencode(view_query)}),
            extra_actions=registered_bulk_actions(),
        ))


# How each sortable column reads in either direction, for the card view's sort control (a phone has no
# column headers to click): the same sorts as the table's headers.
_SORT_DIRECTIONS: dict[str, tuple[str, str]] = {
    "placed": ("oldest first", "newest first"), "ship_by": ("soonest first", "latest first"),
    "number": ("lowest first", "highest first"), "customer": ("A to Z", "Z to A"),
    "total": ("smallest first", "largest first"), "country": ("A to Z", "Z to A"),
}


def _sort_options() -> list[tuple[str, str]]:
    """(sort value, label) for every column sort and direction: "Placed: newest first" is `-placed`."""
    options = []
    for name, label in selectors.SORT_LABELS.items():
        up, down = _SORT_DIRECTIONS.get(name, ("ascending", "descending"))
        options += [(name, f"{label}: {up}"), (f"-{name}", f"{label}: {down}")]
    return options


def _sort_links(query: dict[str, str], sort: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the link that sorts by it (again: the other way round) and its aria-sort state."""
    out = {}
    for name, label in selectors.SORT_LABELS.items():
        current = sort.lstrip("-") == name
        descending = sort.startswith("-")
        target = (name if descending else f"-{name}") if current else name
        out[name] = {
            "label": label, "href": "?" + urlencode({**query, "sort": target}),
            "aria": ("descending" if descending else "ascending") if current else "none",
            "arrow": ("↓" if descending else "↑") if current else "",
        }
    return out


class SavedViewCreateView(MerchantRequiredMixin, View):
    """Save the list's current filters under a name (the same name again replaces them)."""

    def post(self, request):
        form = SavedViewForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the view a name (at most 80 characters).")
            return HttpResponseRedirect(reverse("order-list") + "?" + request.POST.get("query", "")[:2000])
        try:
            view = services.saved_view_save(merchant=self.merchant, user=request.user, name=form.cleaned_data["name"],
                                            query=form.cleaned_data["query"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("order-list"))
        messages.success(request, f"View “{view.name}” saved.")
        return HttpResponseRedirect(reverse("order-list") + (f"?{view.query}" if view.query else "?tab=all"))


class SavedViewDeleteView(MerchantRequiredMixin, View):
    def post(self, request, pk: int):
        view = selectors.saved_view_get(merchant=self.merchant, user=request.user, pk=pk)
        services.saved_view_delete(merchant=self.merchant, view=view)
        messages.success(request, f"View “{view.name}” deleted.")
        return HttpResponseRedirect(reverse("order-list"))


class HomeView(MerchantRequiredMixin, TemplateView):
    """"/": what today needs, each number a link into the list that holds those orders or products."""

    template_name = "orders/home.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        summary = selectors.home_summary(merchant=self.merchant)
        name_stores(self.merchant, summary.next_to_ship)
        ctx.update(summary=summary, ages=[(key, label, summary.orders[key]) for key, label, *_ in selectors.AGE_BUCKETS],
                   checklist=account_selectors.setup_checklist(merchant=self.merchant))
        return ctx


class OrderExportView(MerchantRequiredMixin, View):
    """The filtered list as CSV, streamed in keyset chunks (a million orders in flat memory)."""

    HEADER = ["id", "number", "channel", "integration", "external_id", "status", "placed_at", "customer_name",
              "customer_email", "currency", "subtotal", "shipping", "tax", "total", "is_short", "needs_attention",
              "tags", "lines"]

    LINE_HEADER = ["order_number", "placed_at", "customer_name", "customer_email", "phone", "ship_to_name",
                   "company", "address_line1", "address_line2", "city", "region", "postal_code", "country", "sku",
                   "title", "quantity", "unit_price", "line_total", "currency", "status"]

    def get(self, request):
        filters = _filters(request)
        merchant = self.merchant
        if request.GET.get("shape") == "lines":
            return self._per_line(merchant, filters)

        def rows():
            # The response body is produced after the middleware has left the request's scope,
            # so the generator enters the same merchant's scope again for its reads.
            with tenant_scope(merchant):
                yield self.HEADER
                for o in selectors.order_export_rows(merchant=merchant, filters=filters):
                    yield [
                        o.pk, o.number, o.channel, o.integration_id or "", o.external_id, o.status,
                        o.placed_at.isoformat(), o.customer_name, o.customer_email, o.currency,
                        o.subtotal_amount, o.shipping_amount, o.tax_amount, o.total_amount, int(o.is_short),
                        int(o.needs_attention), " ".join(t.name for t in o.tag_rows.all()),
                        "; ".join(f"{li.quantity}x{li.sku}" for li in o.lines.all()),
                    ]

        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        return csv_streaming_response(rows(), filename=f"orders-{stamp}.csv")

    def _per_line(self, merchant, filters):
        """One row per line with the shipping address: the shape a 3PL or courier upload expects."""

        def rows():
            with tenant_scope(merchant):
                yield self.LINE_HEADER
                for o, line, address in selectors.order_line_export_rows(merchant=merchant, filters=filters):
                    yield [
                        o.number, o.placed_at.isoformat(), o.customer_name, o.customer_email,
                        address["phone"],
                        *(address[k] for k in selectors.EXPORT_ADDRESS_FIELDS if k != "phone"),
                        line.sku, line.title, line.quantity, line.unit_price_amount,
                        line.line_total_amount, o.currency, o.status,
                    ]

        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        return csv_streaming_response(rows(), filename=f"order-lines-{stamp}.csv")


class OrderDetailView(MerchantRequiredMixin, TemplateView):
    template_name = "orders/detail.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        order = selectors.order_detail(merchant=self.merchant, pk=self.kwargs["pk"])
        name_stores(self.merchant, [order])
        lines = list(order.lines.all())
        shipments = list(order.shipments.all())
        events = list(order.events.all())
        history: dict[int, list[OrderEvent]] = {}
        for e in events:  # the carrier's tracking news, per parcel, newest first
            if e.kind == OrderEvent.Kind.TRACKING and isinstance(e.data, dict) and e.data.get("shipment"):
                history.setdefault(e.data["shipment"], []).insert(0, e)
        for shipment in shipments:
            shipment.tracking = selectors.tracking_state(shipment)  # annotated by order_detail
            shipment.tracking_history = history.get(shipment.pk, [])
        allowed = allowed_actions(order.status)
        # Units in a pending shipment are spoken for: the form offers (and pre-fills) only what is left.
        left = left_to_ship(lines, pending_in(shipments))
        for li in lines:
            li.left_to_ship = left[li.pk]
            li.prefill = min(li.left_to_ship, li.quantity_reserved) if li.quantity_short else li.left_to_ship
        can_ship = order.status in SHIPPABLE and any(li.left_to_ship and li.product_id for li in lines)
        ctx.update(
            order=order, lines=lines, shipments=shipments, events=events,
            is_late=selectors.order_is_late(order),
            tags=", ".join(t.name for t in order.tag_rows.all()),
            raw_payload=json.dumps(order.raw_payload, indent=2, sort_keys=True, default=str),
            can_ship=can_ship,
            sections=order_page_sections_render(merchant=self.merchant, order=order, shipments=shipments,
                                                can_ship=can_ship),
            can_cancel=OrderStatus.CANCELLED in allowed, can_hold=OrderStatus.ON_HOLD in allowed,
            can_release=order.status == OrderStatus.ON_HOLD, can_return=OrderStatus.RETURNED in allowed,
            unmatched=[li for li in lines if li.product_id is None and li.quantity_outstanding],
            shipment_form=kwargs.get("shipment_form") or ShipmentForm(initial={"ship_now": True}),
            carrier_choices=carrier_choices(),
            tags_form=TagsNotesForm(initial={"notes": order.notes}),
        )
        return ctx


class OrderActionView(MerchantRequiredMixin, View):
    """POST /orders/<pk>/<action>/: cancel, hold, release, return, edit, ship, map-sku."""

    def post(self, request, pk: int, action: str):
        order = selectors.order_get(merchant=self.merchant, pk=pk)
        back = reverse("order-detail", args=[order.pk])
        m, user = self.merchant, request.user
        try:
            if action == "cancel":  # as the bulk cancel: the confirmation page first, a reason required
                reason = request.POST.get("reason", "").strip()[:255]
                if request.POST.get("confirmed") != "yes" or not reason:
                    return confirm_page(request, merchant=m, ids=[order.pk], action="cancel", back=back,
                                        asked=request.POST.get("confirmed") == "yes",
                                        post_to=reverse("order-action", args=[order.pk, "cancel"]))
                services.order_cancel(merchant=m, order=order, actor=user, reason=reason)
                messages.success(request, "Order cancelled; its stock was released.")
            elif action == "hold":
                form = ReasonForm(request.POST)
                form.is_valid()
                services.order_hold(merchant=m, order=order, actor=user, reason=form.cleaned_data.get("reason", ""))
                messages.success(request, "Order put on hold.")
            elif action == "release":
                services.order_release_hold(merchant=m, order=order, actor=user)
                messages.success(request, "Hold released.")
            elif action == "return":  # as cancel: the confirmation page first, a reason required
                reason = request.POST.get("reason", "").strip()[:255]
                restock = request.POST.get("restock") == "on"
                if request.POST.get("confirmed") != "yes" or not reason:
                    return confirm_page(request, merchant=m, ids=[order.pk], action="return", back=back,
                                        asked=request.POST.get("confirmed") == "yes", restock=restock,
                                        post_to=reverse("order-action", args=[order.pk, "return"]))
                services.order_return(merchant=m, order=order, actor=user, restock=restock, reason=reason)
                messages.success(request, "Order marked returned" + ("; its units are back on hand." if restock else "."))
            elif action == "edit":
                form = TagsNotesForm(request.POST)
                if form.is_valid():
                    services.order_update(merchant=m, order=order, actor=user, tags=form.cleaned_data["tags"],
                                          notes=form.cleaned_data["notes"])
                    messages.success(request, "Saved.")
            elif action == "ship":
                return self._ship(request, order)
            elif action == "map-sku":
                form = MapSkuForm(request.POST)
                if not form.is_valid():
                    raise ValidationFailed("Give the product SKU.")
                line = selectors.order_line_get(merchant=m, order=order, pk=form.cleaned_data["line"])
                d = form.cleaned_data
                changed = services.order_line_map_sku(merchant=m, line=line, product_sku=d["sku"], actor=user,
                                                      all_open_lines=d["all_open_lines"], remember=d["remember"],
                                                      remember_store_only=d["remember_store_only"])
                messages.success(request, f"SKU mapped on {len(changed):,} {ngettext('order', 'orders', len(changed))}; stock reserved where available."
                                 + (f" Later orders with {line.sku} will match on arrival." if d["remember"] else ""))
            else:
                messages.error(request, "Unknown action.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(back)

    def _ship(self, request, order):
        form = ShipmentForm(request.POST)
        back = reverse("order-detail", args=[order.pk])
        if not form.is_valid():
            problems = " ".join(str(e) for errors in form.errors.values() for e in errors)
            messages.error(request, f"Check the carrier and tracking fields. {problems}".strip())
            return HttpResponseRedirect(back)
        requests = []
        for key, value in request.POST.items():
            if key.startswith("qty_") and value.strip():
                quantity = parse_int(value, field=key, min_value=0, max_value=MAX_LINE_QUANTITY)
                if quantity > 0:
                    requests.append(services.ShipmentLineRequest(order_line_id=parse_id(key[4:], field=key),
                                                                 quantity=quantity))
        shipment = services.shipment_create(
            merchant=self.merchant, order=order, lines=requests, actor=request.user,
            carrier=form.cleaned_data["carrier"], tracking_number=form.cleaned_data["tracking_number"],
            tracking_url=form.cleaned_data["tracking_url"], ship=form.cleaned_data["ship_now"],
        )
        messages.success(request, f"Shipment {shipment.pk} {'shipped' if shipment.shipped_at else 'created'}.")
        return HttpResponseRedirect(back)


class ShipmentShipView(MerchantRequiredMixin, View):
    def post(self, request, pk: int):
        shipment = selectors.shipment_get(merchant=self.merchant, pk=pk)
        try:
            carrier = carrier_clean(request.POST.get("carrier"), request.POST.get("carrier_name"))
            services.shipment_mark_shipped(
                merchant=self.merchant, shipment=shipment, actor=request.user,
                carrier=carrier or None, tracking_number=request.POST.get("tracking_number") or None,
            )
            messages.success(request, f"Shipment {shipment.pk} shipped.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("order-detail", args=[shipment.order_id]))


class ShipmentTrackingRetryView(MerchantRequiredMixin, View):
    """POST: send a shipment's tracking to its channel again now (the channel refused it, or it is retrying)."""

    def post(self, request, pk: int):
        shipment = selectors.shipment_get(merchant=self.merchant, pk=pk)
        try:
            services.tracking_outbox_retry_now(merchant=self.merchant, shipment=shipment)
            messages.success(request, f"Sending the tracking of shipment {shipment.pk} again.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("order-detail", args=[shipment.order_id]))


class ShipmentCancelView(MerchantRequiredMixin, View):
    def post(self, request, pk: int):
        shipment = selectors.shipment_get(merchant=self.merchant, pk=pk)
        try:
            services.shipment_cancel(merchant=self.merchant, shipment=shipment, actor=request.user)
            messages.success(request, f"Shipment {shipment.pk} cancelled; its units can be shipped again.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("order-detail", args=[shipment.order_id]))


class OrderCreateView(MerchantRequiredMixin, TemplateView):
    """Phone and wholesale orders: an address checked by its country's rule, as many lines as needed, every
    problem shown on its field or line; all lines reserved, or nothing created."""

    template_name = "orders/new.html"

    def _render(self, form, address_form, formset, status=200):
        return self.render_to_response(self.get_context_data(
            form=form, address_form=address_form, formset=formset, address_rules=address_rules_for_page()),
            status=status)

    def get(self, request, *args, **kwargs):
        country = (self.merchant.address or {}).get("country", "") if isinstance(self.merchant.address, dict) else ""
        return self._render(ManualOrderForm(initial={"currency": self.merchant.currency}),
                            ShippingAddressForm(initial={"country": country}), ManualLineFormSet())

    def post(self, request, *args, **kwargs):
        form, address_form = ManualOrderForm(request.POST), ShippingAddressForm(request.POST)
        if "add_line" in request.POST:  # without JavaScript, "Add a line" posts: the same form, one row more
            data = request.POST.copy()
            data["form-TOTAL_FORMS"] = str(min(int(data.get("form-TOTAL_FORMS") or 1) + 1, 200))
            return self._render(form, address_form, ManualLineFormSet(data))
        formset = ManualLineFormSet(request.POST)
        if not (form.is_valid() and address_form.is_valid() and formset.is_valid()):
            return self._render(form, address_form, formset, status=400)
        rows = [(f, services.ManualLine(sku=f.cleaned_data["sku"], quantity=f.cleaned_data["quantity"],
                                        unit_price=f.cleaned_data.get("unit_price")))
                for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")
                and f.cleaned_data.get("sku")]
        d, lines = form.cleaned_data, [line for _, line in rows]
        check = services.manual_order_check(merchant=self.merchant, lines=lines, customer_name=d["customer_name"],
                                            customer_email=d["customer_email"],
                                            shipping_address=address_form.cleaned_data)
        if check:  # each problem on its field and its line
            for name, message in check.address_errors.items():
                address_form.add_error(name, message)
            if check.email_error:
                form.add_error("customer_email", check.email_error)
            for index, errors in check.line_errors.items():
                for name, message in errors.items():
                    rows[index][0].add_error(name, message)
            messages.error(request, "Nothing was created: check the fields and lines marked below.")
            return self._render(form, address_form, formset, status=400)
        try:
            order = services.order_create_manual(
                merchant=self.merchant, actor=request.user, lines=lines, customer_name=d["customer_name"],
                customer_email=d["customer_email"], currency=d["currency"] or None,
                shipping_address=address_form.cleaned_data,
                shipping=d["shipping"] or Decimal("0"), tax=d["tax"] or Decimal("0"), notes=d["notes"],
            )
        except ApplicationError as exc:  # stock taken meanwhile, an amount too big for the columns
            messages.error(request, exc.message)
            return self._render(form, address_form, formset, status=400)
        messages.success(request, f"Order {order.number} created and its stock reserved.")
        return HttpResponseRedirect(reverse("order-detail", args=[order.pk]))


class CustomerSuggestView(MerchantRequiredMixin, View):
    """GET /orders/customers.json?q=&limit=: the manual order's customer picker (static/js/sku_picker.js's
    type-ahead) over this merchant's customers by e-mail; each with the name and address of their last order."""

    def get(self, request):
        q = optional_text(request.GET, "q", max_length=254)
        limit = parse_int(request.GET.get("limit") or 8, field="limit", min_value=1, max_value=CUSTOMER_SUGGEST_MAX)
        rows = customer_suggest(merchant=self.merchant, q=q, limit=limit)
        return JsonResponse({"results": [{**r, "value": r["email"],
                                          "help": " · ".join(x for x in (r["name"], r["city"]) if x)} for r in rows]})


def address_rules_for_page() -> dict:
    """The country table as the page's script reads it (labels and which fields are required)."""
    return {code: {"required": list(rule.required), "region": rule.region_label, "postcode": rule.postcode_label,
                   "example": rule.example, "regions": region_choices(code)} for code, rule in RULES.items()}


class AnalyticsView(MerchantRequiredMixin, TemplateView):
    template_name = "orders/analytics.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        m = self.merchant
        try:
            rng = selectors.DateRange.from_params(self.request.GET, tz=m.timezone)
        except ValidationFailed as exc:
            messages.error(self.request, exc.message)
            rng = selectors.DateRange.from_params({}, tz=m.timezone)
        revenue = selectors.revenue_by_day(merchant=m, rng=rng)
        labels = [d["date"][5:] for d in revenue["days"]]
        rev_series = {c: [Decimal(d["channels"][c]["revenue"]) for d in revenue["days"]] for c in revenue["channels"]}
        cnt_series = {c: [d["channels"][c]["orders"] for d in revenue["days"]] for c in revenue["channels"]}
        names = {c.slug: c.label for c in channel_list()}
        colours = {c.slug: c.colour for c in channel_list()}
        top = selectors.top_skus(merchant=m, rng=rng)
        ages = selectors.unfulfilled_by_age(merchant=m)
        age_names = {"under_1_day": "Under 1 day", "1_to_2_days": "1–2 days", "2_to_3_days": "2–3 days",
                     "over_3_days": "Over 3 days"}
        ctx.update(
            rng=rng, revenue=revenue, currency=m.currency,
            revenue_chart=charts.stacked_bars(labels=labels, series=rev_series, title=f"Revenue per day ({m.currency})",
                                               names=names, colours=colours),
            count_chart=charts.stacked_bars(labels=labels, series=cnt_series, title="Orders per day",
                                             names=names, colours=colours, whole=True),
            top=top,
            top_units_chart=charts.horizontal_bars(items=[(r["sku"], r["units"]) for r in top["by_units"]],
                                                   title="Top SKUs by units"),
            top_revenue_chart=charts.horizontal_bars(
                items=[(r["sku"], Decimal(r["revenue"])) for r in top["by_revenue"]], title="Top SKUs by revenue",
                color="#1c7c46"),
            timing=selectors.fulfillment_time(merchant=m, rng=rng),
            ages=ages,
            age_chart=charts.horizontal_bars(items=[(age_names[b["bucket"]], b["orders"]) for b in ages["buckets"]],
                                             title="Open orders by age", color="#a15c00"),
            shipping=selectors.shipping_cost(merchant=m, rng=rng),
            exceptions=selectors.carrier_exceptions(merchant=m, rng=rng),
            on_time=selectors.on_time_delivery(merchant=m, rng=rng),
            short=selectors.short_orders(merchant=m, rng=rng),
            channels=names,
        )
        return ctx
