"""Dashboard pages of labels: shipments, buying a label (rates side by side), voiding, label batches, the
order list's paperwork and label bulk actions, and carrier accounts in settings.

Thin: every decision is in labels.services (rates, buying exactly once, voids, batches, paperwork,
accounts); downloads are the API's own endpoints (the session signs them in), linked from the pages.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from accounts.models import Membership
from accounts.views import MerchantRequiredMixin
from core.errors import ApplicationError, NotFound, ValidationFailed
from core.fields import decrypt, encrypt
from core.parsing import optional_id, parse_id
from jobs.registry import JobSummary
from labels import selectors, services
from labels.models import CarrierAccount, Label, LabelBatch
from labels.registry import carrier_packages
from labels.services import paperwork
from labels.services.accounts import carrier_package
from labels.services.batches import BATCH_MAX
from labels.services.purchase import RULES
from orders import selectors as order_selectors
from orders import services as order_services
from orders.bulk_views import bulk_back_url
from orders.models import Order, Shipment

PAGE = 50
RULE_LABELS = {"cheapest": "Cheapest", "fastest": "Fastest (fewest delivery days)"}


def _is_owner(request) -> bool:
    return request.membership is not None and request.membership.role == Membership.Role.OWNER


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


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
            query="&".join(f"{k}={v}" for k, v in query.items()), filtered=bool(query),
            **kwargs,
        )


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
            if rate_id is None and rule not in RULES:
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


# ------------------------------------------------------------------ bulk actions and batches


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
    lines = [f"{result['labels']:,} label(s) bought, {result['errors']:,} order(s) failed."] if result else []
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


# ------------------------------------------------------------------ carrier accounts (settings)


TESTED_SESSION_KEY = "labels.carrier_tested.{carrier}"


class CarrierAccountListView(MerchantRequiredMixin, TemplateView):
    template_name = "labels/accounts.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(accounts=list(selectors.carrier_account_list(merchant=self.merchant)),
                                        packages=carrier_packages.values(), is_owner=_is_owner(self.request),
                                        **kwargs)


class CarrierAccountNewView(MerchantRequiredMixin, TemplateView):
    """The carrier package's connect form: "Test connection" stores nothing (a key that worked is kept,
    encrypted, in the session so saving right after needs nothing typed again); "Save" tests first and
    stores nothing the carrier refuses. Owners only, as the API."""

    template_name = "labels/account_form.html"

    def _package(self):
        slug = self.request.GET.get("carrier") or self.request.POST.get("carrier") or next(iter(carrier_packages.keys()))
        if slug not in carrier_packages.keys():
            raise NotFound("No such carrier.")
        return carrier_package(slug)

    def get(self, request):
        package = self._package()
        return self._render(package, package.connect_form())

    def _render(self, package, form, *, test=None, kept=False, status=200):
        return self.render_to_response(self.get_context_data(
            package=package, packages=carrier_packages.values(), form=form, test=test, kept=kept,
            is_owner=_is_owner(self.request)), status=status)

    def post(self, request):
        package = self._package()
        key = TESTED_SESSION_KEY.format(carrier=package.slug)
        data = request.POST.copy()
        if not data.get("api_key") and request.session.get(key):
            data["api_key"] = decrypt(request.session[key])
        form = package.connect_form(data)
        if not form.is_valid():
            return self._render(package, form, status=400)
        try:
            if request.POST.get("action") == "test":
                info = services.carrier_account_test(carrier=package.slug, credentials=form.credentials())
                request.session[key] = encrypt(form.cleaned_data["api_key"])
                return self._render(package, form, test={"ok": True, "account_name": info.account_name}, kept=True)
            account = services.carrier_account_create(merchant=self.merchant, actor=request.user,
                                                      carrier=package.slug, name=form.cleaned_data["name"],
                                                      credentials=form.credentials())
        except ApplicationError as exc:
            request.session.pop(key, None)
            if exc.status_code == 403:
                raise
            return self._render(package, form, test={"ok": False, "error": exc.message}, status=400)
        request.session.pop(key, None)
        messages.success(request, f"{account.name} is connected: its rates appear when you buy a label.")
        return HttpResponseRedirect(reverse("carrier-accounts"))


class CarrierAccountEditView(MerchantRequiredMixin, TemplateView):
    """Rename the account, or replace its API key (tested before it is stored; the stored key is never
    shown)."""

    template_name = "labels/account_edit.html"

    def get(self, request, pk: int):
        account = selectors.carrier_account_get(merchant=self.merchant, pk=pk)
        return self.render_to_response(self.get_context_data(account=account, is_owner=_is_owner(request)))

    def post(self, request, pk: int):
        account = selectors.carrier_account_get(merchant=self.merchant, pk=pk)
        package = carrier_package(account.carrier)
        name = request.POST.get("name", "")
        api_key = request.POST.get("api_key", "").strip()
        try:
            if request.POST.get("action") == "test":
                if not api_key:
                    raise ValidationFailed("Type the new API key to test it.")
                info = services.carrier_account_test(carrier=account.carrier, credentials={"api_key": api_key})
                messages.success(request, f"The new key works ({info.account_name}). Type it again and save to "
                                          "use it.")
                return HttpResponseRedirect(reverse("carrier-account-edit", args=[account.pk]))
            services.carrier_account_update(merchant=self.merchant, actor=request.user, account=account, name=name,
                                            credentials={"api_key": api_key} if api_key else None)
        except ApplicationError as exc:
            if exc.status_code == 403:
                raise
            return self.render_to_response(self.get_context_data(
                account=account, is_owner=_is_owner(request), error=exc.message, package=package), status=400)
        messages.success(request, f"{account.name} saved" + (" with its new API key." if api_key else "."))
        return HttpResponseRedirect(reverse("carrier-accounts"))


class CarrierAccountRemoveView(MerchantRequiredMixin, TemplateView):
    template_name = "labels/account_remove.html"

    def get(self, request, pk: int):
        account = selectors.carrier_account_get(merchant=self.merchant, pk=pk)
        return self.render_to_response(self.get_context_data(account=account, is_owner=_is_owner(request),
                                                             labels=account.labels.count()))

    def post(self, request, pk: int):
        account = selectors.carrier_account_get(merchant=self.merchant, pk=pk)
        services.carrier_account_disconnect(merchant=self.merchant, actor=request.user, account=account)
        messages.success(request, f"{account.name} is removed; the labels bought with it stay on their orders.")
        return HttpResponseRedirect(reverse("carrier-accounts"))

