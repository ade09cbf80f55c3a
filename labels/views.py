"""Dashboard pages of labels: shipments, buying a label (every account's rates side by side), voiding, and
the order page's "Labels and paperwork" section. Batches and the bulk actions are in batch_views.py,
carrier accounts in account_views.py.

Thin: every decision is in labels.services (rates, buying exactly once, voids); downloads are the API's
own endpoints (the session signs them in), linked from the pages.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View
from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin
from core.errors import ApplicationError, ValidationFailed
from core.parsing import optional_id
from labels import selectors, services
from labels.api import stored_file_response
from labels.models import Label
from labels.services.files import file_link_open
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import Order, Shipment

PAGE = 50
RULE_LABELS = {"cheapest": "Cheapest", "fastest": "Fastest (fewest delivery days)"}


# ------------------------------------------------------------------ shipments


class ShipmentListView(MerchantRequiredMixin, TemplateView):
    """Every parcel across orders, newest first: manual tracking and bought labels alike, with the label's
    cost, its file and a way to void it."""

    template_name = "labels/shipments.html"

    def get_context_data(self, **kwargs):
        qs = order_selectors.shipment_list(merchant=self.merchant).select_related("order")
        get = self.request.GET
        status = get.get("status", "")
        if status in Shipment.Status.values:
            qs = qs.filter(status=status)
        tracking = get.get("tracking_status", "")
        if tracking in Shipment.TrackingStatus.values and tracking:
            qs = qs.filter(tracking_status=tracking)
        carriers = selectors.shipment_carriers(merchant=self.merchant)
        carrier = get.get("carrier", "")
        if carrier in carriers:
            qs = qs.filter(carrier=carrier)
        before = optional_id(get, "before")
        if before:
            qs = qs.filter(pk__lt=before)  # keyset pagination: no OFFSET
        rows = list(qs[: PAGE + 1])
        shipments = rows[:PAGE]
        labels = selectors.labels_by_shipment(merchant=self.merchant, shipment_ids=[s.pk for s in shipments])
        for s in shipments:
            s.label = labels.get(s.pk)
        query = {k: v for k, v in (("status", status), ("tracking_status", tracking), ("carrier", carrier)) if v}
        return super().get_context_data(
            shipments=shipments,
            next_before=rows[PAGE - 1].pk if len(rows) > PAGE else None,
            statuses=Shipment.Status.choices, tracking_statuses=[c for c in Shipment.TrackingStatus.choices if c[0]],
            carriers=carriers, active_status=status, active_tracking=tracking, active_carrier=carrier,
            query=urlencode(query), filtered=bool(query),  # a carrier may be "DHL & Co" or "A+B"
            **kwargs,
        )


def label_file_link(request, token: str):
    """A signed, expiring link to a label or a batch's merged PDF (local disk; S3 presigns its own). No
    login: the signature is the permission, and it names the one merchant's one file."""
    return stored_file_response(file_link_open(token))


def _shipment(request, pk) -> Shipment:
    return Shipment.objects.select_related("order").get(pk=order_selectors.shipment_get(
        merchant=request.merchant, pk=pk).pk, merchant=request.merchant)


class ShipmentLabelView(MerchantRequiredMixin, TemplateView):
    """GET: every carrier account's rates for the shipment side by side, with each failing carrier's own
    words; POST: buy the chosen rate (or by rule) and land on the order. A second POST (a double click, a
    reload) never buys twice: the service returns the purchase already made."""

    template_name = "labels/buy.html"

    def get(self, request, pk: int):
        shipment = _shipment(request, pk)
        if shipment.status != Shipment.Status.PENDING:
            messages.info(request, f"Shipment {shipment.pk} has shipped already.")
            return HttpResponseRedirect(reverse("order-detail", args=[shipment.order_id]))
        ctx = {"shipment": shipment, "order": shipment.order, "rules": RULE_LABELS, "rates": [], "errors": [],
               "problem": "", "packages": list(selectors.package_preset_list(merchant=self.merchant)), "package": None}
        try:
            ctx["package"] = package = optional_id(request.GET, "package")
            result = services.shipment_rates(merchant=self.merchant, shipment=shipment, package_preset_id=package)
        except ApplicationError as exc:  # no account, no ship-from, a product without a weight
            ctx["problem"] = exc.message
            ctx["problem_code"] = exc.code
        else:
            names = {a.pk: a for a in selectors.carrier_account_list(merchant=self.merchant)}
            ctx["rates"] = result.rates
            ctx["errors"] = [{"account": names.get(e["carrier_account"]), "message": e["message"]}
                             for e in result.errors]
        ctx["lines"] = list(shipment.lines.select_related("order_line").order_by("id"))
        return self.render_to_response(self.get_context_data(**ctx))

    def post(self, request, pk: int):
        shipment = _shipment(request, pk)
        rule = request.POST.get("rule") or None
        rates_page = reverse("shipment-buy-label", args=[shipment.pk])
        try:
            package = optional_id(request.POST, "package_preset_id")
            rate_id = optional_id(request.POST, "rate_id") if not rule else None
            if package:
                rates_page += f"?package={package}"
            if rate_id is None and not rule:
                raise ValidationFailed("Choose a rate, or buy the cheapest or the fastest.")
            shipped = services.label_buy(merchant=self.merchant, actor=request.user, shipment=shipment,
                                         rate_id=rate_id, rule=None if rate_id else rule, package_preset_id=package)
        except ApplicationError as exc:
            messages.error(request, f"No label was bought: {exc.message}")
            if shipment.status == Shipment.Status.PENDING:
                return HttpResponseRedirect(rates_page)
            return HttpResponseRedirect(reverse("order-detail", args=[shipment.order_id]))
        messages.success(request, f"Label bought: {shipped.carrier} {shipped.service}, tracking "
                                  f"{shipped.tracking_number}, cost {shipped.label_cost_amount}.")
        return HttpResponseRedirect(reverse("order-detail", args=[shipment.order_id]) + f"#shipment-{shipment.pk}")


class OrderLabelStartView(MerchantRequiredMixin, View):
    """POST from the order page: the order's pending shipment, or a new one of everything left to ship
    (as a batch makes), then its rates."""

    def post(self, request, pk: int):
        order = order_selectors.order_get(merchant=self.merchant, pk=pk)
        try:
            shipment = order_services.shipment_pending_ensure(merchant=self.merchant, order=order, actor=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("order-detail", args=[order.pk]))
        return HttpResponseRedirect(reverse("shipment-buy-label", args=[shipment.pk]))


class ShipmentVoidView(MerchantRequiredMixin, TemplateView):
    """GET: what voiding does (refund asked of the carrier, stock back on the shelf, the channel given the
    new tracking when the parcel ships again); POST: void."""

    template_name = "labels/void.html"

    def get(self, request, pk: int):
        shipment = _shipment(request, pk)
        label = selectors.label_live(merchant=self.merchant, shipment=shipment)
        if label is not None and label.status != Label.Status.BOUGHT:
            label = None
        return self.render_to_response(self.get_context_data(shipment=shipment, order=shipment.order, label=label))

    def post(self, request, pk: int):
        shipment = _shipment(request, pk)
        try:
            services.label_void(merchant=self.merchant, actor=request.user, shipment=shipment)
        except ApplicationError as exc:
            messages.error(request, f"The label was not voided: {exc.message}")
            return HttpResponseRedirect(reverse("shipment-void-confirm", args=[shipment.pk]))
        messages.success(request, f"Label of shipment {shipment.pk} voided; its stock is back on hand and the "
                                  "shipment is pending again.")
        return HttpResponseRedirect(reverse("order-detail", args=[shipment.order_id]))


def order_section(*, merchant, order: Order, shipments: list, can_ship: bool) -> dict:
    """The order page's "Labels and paperwork" section (orders.order_page): buy a label per pending
    shipment (or for everything left to ship), each bought label with its cost, file and void."""
    labels = selectors.labels_by_shipment(merchant=merchant, shipment_ids=[s.pk for s in shipments])
    pending = [s for s in shipments if s.status == Shipment.Status.PENDING]
    return {"order": order, "pending": pending, "can_start": can_ship and not pending,
            "labelled": [(s, labels[s.pk]) for s in shipments if s.pk in labels]}
