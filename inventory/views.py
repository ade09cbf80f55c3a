"""Inventory dashboard: the table, a product's page with its forms, import with preview, export."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin
from core.csv_stream import csv_streaming_response
from core.errors import ApplicationError
from core.pagination import keyset_page
from core.parsing import optional_id, optional_text, parse_int
from inventory import selectors, services
from inventory.forms import (
    AdjustForm,
    ComponentFormSet,
    ImportForm,
    LocationForm,
    LocationRenameForm,
    ProductEditForm,
    ProductForm,
    TransferForm,
)
from inventory.models import StockMovement
from inventory.registry import product_listings, reference_links_for
from inventory.services import imports

PAGE = 50
SORTS = {
    "sku": "sku", "title": "title", "available": "total_available", "on_hand": "total_on_hand",
    "reserved": "total_reserved",
}


class InventoryListView(MerchantRequiredMixin, TemplateView):
    """Products with stock summed over locations (or at one), searchable, filterable, keyset-paginated."""

    template_name = "inventory/list.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        g = self.request.GET
        location_id = optional_id(g, "location")
        q = optional_text(g, "q", max_length=100)
        sort = g.get("sort", "sku")
        key = sort.lstrip("-")
        if key not in SORTS:
            sort, key = "sku", "sku"
        desc = sort.startswith("-")
        field = SORTS[key]
        stock = g.get("stock", "")
        if stock not in selectors.STOCK_FILTERS:
            stock = "low" if g.get("low") == "1" else ""  # ?low=1: the older link
        qs = selectors.inventory_table(
            merchant=self.merchant, q=q, location_id=location_id, stock=stock, bundle=g.get("bundle", ""),
        )
        result = keyset_page(qs, order=[f"-{field}", "-pk"] if desc else [field, "pk"], after=g.get("after", ""),
                             size=PAGE)
        page = result.rows
        bundles = [p.pk for p in page if p.is_bundle]
        if bundles:
            avail = selectors.products_available(merchant=self.merchant, product_ids=bundles,
                                                 location_id=location_id)
            for p in page:
                if p.is_bundle:
                    p.total_available = avail[p.pk]
        per_day = selectors.units_shipped_per_day(merchant=self.merchant,
                                                  product_ids=[p.pk for p in page if not p.is_bundle])
        for p in page:
            p.days_of_cover = selectors.days_of_cover(p.total_available, per_day.get(p.pk))
            p.is_out, p.is_low = selectors.stock_flags(p, p.total_available)
        params = g.copy()
        params.pop("after", None)
        params.pop("low", None)
        if stock:
            params["stock"] = stock
        next_after = result.next_cursor or None
        sort_links = {}
        for k in SORTS:
            p2 = params.copy()
            p2["sort"] = f"-{k}" if sort == k else k
            sort_links[k] = p2.urlencode()
        ctx.update(
            products=page, next_after=next_after, base_query=params.urlencode(), sort=sort, sort_links=sort_links,
            locations=selectors.location_list(merchant=self.merchant), location_id=location_id,
            q=q, stock=stock, stock_filters=selectors.STOCK_FILTERS, bundle=g.get("bundle", ""),
            is_first=not g.get("after"), summary=selectors.inventory_summary(merchant=self.merchant),
            cover_days=selectors.COVER_DAYS,
        )
        return ctx


class ProductDetailView(MerchantRequiredMixin, TemplateView):
    template_name = "inventory/product.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        product = selectors.product_get(merchant=self.merchant, pk=self.kwargs["pk"])
        movements = keyset_page(selectors.stock_movement_list(merchant=self.merchant, product_id=product.pk),
                                order=["-pk"], after=self.request.GET.get("after", ""), size=PAGE)
        links = reference_links_for(self.merchant, [m.reference for m in movements.rows])
        for m in movements.rows:  # the ledger names an order, an import or a store, linked to its page
            m.reference_link = links.get(m.reference)
        levels = list(selectors.stock_level_list(merchant=self.merchant, product_id=product.pk)
                      .order_by("-location__is_default", "location_id"))
        available = selectors.product_available(merchant=self.merchant, product_id=product.pk)
        ctx.update(
            product=product, levels=levels, available=available,
            out_of_stock=selectors.stock_flags(product, available)[0],
            components=selectors.bundle_components(merchant=self.merchant, bundle=product) if product.is_bundle else [],
            bundles=selectors.bundles_containing(merchant=self.merchant, product=product),
            aliases=list(selectors.sku_alias_list(merchant=self.merchant, product_id=product.pk)[:100]),
            listings=product_listings(self.merchant, product.pk),
            movements=movements.rows, next_after=movements.next_cursor,
            adjust_form=kwargs.get("adjust_form") or AdjustForm(
                merchant=self.merchant, initial={"mode": "count" if self.request.GET.get("mode") == "count" else "delta"}),
            transfer_form=kwargs.get("transfer_form") or TransferForm(merchant=self.merchant),
            reasons=StockMovement.Reason, merchant=self.merchant, margin=selectors.margin_percent(product),
            totals={"on_hand": sum(lv.on_hand for lv in levels), "reserved": sum(lv.reserved for lv in levels)},
        )
        return ctx


class _ProductFormView(MerchantRequiredMixin, View):
    form_class: type = AdjustForm
    form_key = "adjust_form"

    def post(self, request, pk: int):
        product = selectors.product_get(merchant=self.merchant, pk=pk)
        form = self.form_class(request.POST, merchant=self.merchant)
        if form.is_valid():
            try:
                message = self.apply(product, form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, message)
                return HttpResponseRedirect(reverse("inventory-product", args=[product.pk]))
        view = ProductDetailView(request=request, kwargs={"pk": pk})
        return render(request, ProductDetailView.template_name,
                      view.get_context_data(pk=pk, **{self.form_key: form}), status=400)

    def apply(self, product, data) -> str:
        raise NotImplementedError


class ProductAdjustView(_ProductFormView):
    def apply(self, product, data) -> str:
        loc = data["location"]
        if data["mode"] == "count":
            released = services.stock_set_count(
                merchant=self.merchant, product_id=product.pk, on_hand=data["quantity"], location_id=loc.pk,
                actor=self.request.user, note=data["note"], reference=f"user:{self.request.user.pk}")
            return f"{product.sku} at {loc.name} counted: {data['quantity']}." + (
                " That is fewer than were reserved: " + ngettext(
                    "%(n)s reserved unit released from the newest orders, which are now short and get stock "
                    "first-come when it arrives.",
                    "%(n)s reserved units released from the newest orders, which are now short and get stock "
                    "first-come when it arrives.", released) % {"n": released} if released else "")
        services.stock_adjust(merchant=self.merchant, product_id=product.pk, delta=data["quantity"],
                              location_id=loc.pk, actor=self.request.user, reason=data["reason"],
                              note=data["note"], reference=f"user:{self.request.user.pk}")
        return f"{product.sku} at {loc.name}: {data['quantity']:+d}."


class ProductTransferView(_ProductFormView):
    form_class = TransferForm
    form_key = "transfer_form"

    def apply(self, product, data) -> str:
        services.stock_transfer(
            merchant=self.merchant, product_id=product.pk, from_location_id=data["from_location"].pk,
            to_location_id=data["to_location"].pk, quantity=data["quantity"], actor=self.request.user,
            note=data["note"],
        )
        return f"Moved {data['quantity']} × {product.sku} from {data['from_location']} to {data['to_location']}."


class ProductCreateView(MerchantRequiredMixin, View):
    template_name = "inventory/product_form.html"

    def get(self, request):
        return render(request, self.template_name, {"form": ProductForm(merchant=self.merchant)})

    def post(self, request):
        form = ProductForm(request.POST, merchant=self.merchant)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            location = data.pop("opening_location", None)
            try:
                product = services.product_create(merchant=self.merchant, actor=request.user,
                                                  opening_location_id=location.pk if location else None, **data)
            except ApplicationError as exc:
                form.add_error("sku" if exc.code == "duplicate_sku" else None, exc.message)
            else:
                messages.success(request, f"{product.sku} created.")
                return HttpResponseRedirect(reverse("inventory-product", args=[product.pk]))
        return render(request, self.template_name, {"form": form}, status=400)


class ProductEditView(MerchantRequiredMixin, View):
    """Catalog fields of a product and, for a bundle, its components (two forms, each its own POST)."""

    template_name = "inventory/product_edit.html"

    def _render(self, request, product, form=None, formset=None, status=200):
        if formset is None and product.is_bundle:
            initial = [{"sku": c.component.sku, "quantity": c.quantity}
                       for c in selectors.bundle_components(merchant=self.merchant, bundle=product)]
            formset = ComponentFormSet(initial=initial, prefix="components")
        return render(request, self.template_name, {
            "product": product, "form": form or ProductEditForm.for_product(product), "formset": formset,
        }, status=status)

    def get(self, request, pk: int):
        return self._render(request, selectors.product_get(merchant=self.merchant, pk=pk))

    def post(self, request, pk: int):
        product = selectors.product_get(merchant=self.merchant, pk=pk)
        form = ProductEditForm.for_product(product, request.POST)
        if form.is_valid():
            try:
                services.product_update(merchant=self.merchant, product=product, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"{product.sku} saved.")
                return HttpResponseRedirect(reverse("inventory-product", args=[product.pk]))
        return self._render(request, product, form=form, status=400)


class ProductComponentsView(ProductEditView):
    """Replace a bundle's components: rows of SKU and units per bundle; blank or ticked rows are removed."""

    def get(self, request, pk: int):
        return HttpResponseRedirect(reverse("inventory-product-edit", args=[pk]))

    def post(self, request, pk: int):
        product = selectors.product_get(merchant=self.merchant, pk=pk)
        formset = ComponentFormSet(request.POST, prefix="components")
        if formset.is_valid():
            rows = [(f.cleaned_data["sku"].strip(), f.cleaned_data["quantity"]) for f in formset.forms
                    if f.cleaned_data.get("sku", "").strip() and not f.cleaned_data.get("DELETE")]
            try:
                found = selectors.product_resolve_skus(merchant=self.merchant, skus=[sku for sku, _ in rows])
                components = [(p.pk, qty) for p, (_, qty) in zip(found, rows, strict=True)]
                services.product_update(merchant=self.merchant, product=product, components=components)
            except ApplicationError as exc:  # an unknown SKU, a bundle in a bundle...
                formset._non_form_errors = formset.error_class([exc.message])
            else:
                messages.success(request, f"Components of {product.sku} saved.")
                return HttpResponseRedirect(reverse("inventory-product", args=[product.pk]))
        return self._render(request, product, formset=formset, status=400)


class LocationListView(MerchantRequiredMixin, View):
    """Locations with their stock, a form to add one, rename forms and a button to choose the default."""

    template_name = "inventory/locations.html"

    def _render(self, request, form=None, rename=None, status=200):
        locations = list(selectors.location_list_with_totals(merchant=self.merchant))
        for loc in locations:
            if rename is not None and rename[0] == loc.pk:
                loc.rename_form = rename[1]
            else:
                loc.rename_form = LocationRenameForm(initial={"name": loc.name, "code": loc.code},
                                                     prefix=f"loc{loc.pk}")
        return render(request, self.template_name, {"locations": locations, "form": form or LocationForm()},
                      status=status)

    def get(self, request):
        return self._render(request)

    def post(self, request):
        form = LocationForm(request.POST)
        if form.is_valid():
            try:
                location = services.location_create(merchant=self.merchant, **form.cleaned_data)
            except ApplicationError as exc:
                form.add_error("code" if exc.code == "duplicate_location" else None, exc.message)
            else:
                messages.success(request, f"{location.name} added.")
                return HttpResponseRedirect(reverse("inventory-locations"))
        return self._render(request, form=form, status=400)


class LocationUpdateView(LocationListView):
    """POST a rename (name and code) or, with `make_default`, choose the default location."""

    def get(self, request, pk: int):
        return HttpResponseRedirect(reverse("inventory-locations"))

    def post(self, request, pk: int):
        location = selectors.location_get(merchant=self.merchant, pk=pk)
        if "make_default" in request.POST:
            services.location_update(merchant=self.merchant, location=location, make_default=True)
            messages.success(request, f"{location.name} is now the default location.")
            return HttpResponseRedirect(reverse("inventory-locations"))
        form = LocationRenameForm(request.POST, prefix=f"loc{location.pk}")
        if form.is_valid():
            try:
                location = services.location_update(merchant=self.merchant, location=location,
                                                    name=form.cleaned_data["name"], code=form.cleaned_data["code"])
            except ApplicationError as exc:
                form.add_error("code" if exc.code == "duplicate_location" else None, exc.message)
            else:
                messages.success(request, f"{location.name} saved.")
                return HttpResponseRedirect(reverse("inventory-locations"))
        return self._render(request, rename=(location.pk, form), status=400)


class ImportView(MerchantRequiredMixin, View):
    template_name = "inventory/import.html"

    def _ctx(self, form):
        return {"form": form, "recent": selectors.stock_import_recent(merchant=self.merchant),
                "inline_limit": imports.INLINE_LIMIT}

    def get(self, request):
        return render(request, self.template_name, self._ctx(ImportForm()))

    def post(self, request):
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, self.template_name, self._ctx(form), status=400)
        upload = form.cleaned_data["file"]
        create = imports.catalog_import_create if form.cleaned_data["kind"] == "catalog" else \
            imports.stock_import_create
        try:
            imp = create(merchant=self.merchant, user=request.user, upload=upload, filename=upload.name)
        except (UnicodeDecodeError, ValueError) as exc:
            form.add_error("file", f"This is not a readable UTF-8 CSV file ({exc.__class__.__name__}). From Excel, "
                           "save it as \"CSV UTF-8\" (comma or semicolon separated both work).")
            return render(request, self.template_name, self._ctx(form), status=400)
        return HttpResponseRedirect(reverse("inventory-import-preview", args=[imp.pk]))


class ImportPreviewView(MerchantRequiredMixin, View):
    template_name = "inventory/import_preview.html"

    def _get(self, pk):
        return selectors.stock_import_get(merchant=self.merchant, pk=pk)

    def get(self, request, pk: int):
        return render(request, self.template_name, {"imp": self._get(pk)})

    def post(self, request, pk: int):
        imp = self._get(pk)
        try:
            imp = imports.stock_import_apply(merchant=self.merchant, import_id=imp.pk, actor=request.user,
                                             valid_only=request.POST.get("rows") == "valid")
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("inventory-import-preview", args=[pk]))
        if imp.job_id:
            messages.info(request, f"The import of {imp.row_count:,} rows runs in the background.")
            return HttpResponseRedirect(reverse("job-detail", args=[imp.job_id]))
        skipped, changes = imp.summary.get("skipped", 0), imp.summary.get("change_count", 0)
        messages.success(request, f"Import applied: {changes:,} {ngettext('change', 'changes', changes)}"
                         + (f"; {skipped:,} {ngettext('row', 'rows', skipped)} with errors skipped." if skipped else "."))
        return HttpResponseRedirect(reverse("inventory-import-preview", args=[pk]))


class LevelsExportView(MerchantRequiredMixin, View):
    """Every level as CSV, streamed in chunks (each chunk read inside the merchant's scope)."""

    def get(self, request):
        location_id = optional_id(request.GET, "location")
        rows = imports.levels_export_rows(merchant=self.merchant, location_id=location_id)
        return csv_streaming_response(rows, filename="stock-levels.csv", content_type="text/csv")


class CatalogExportView(MerchantRequiredMixin, View):
    """Every product with the catalog import's columns (edit in a spreadsheet, import again)."""

    def get(self, request):
        return csv_streaming_response(imports.catalog_export_rows(merchant=self.merchant), filename="catalog.csv",
                                      content_type="text/csv; charset=utf-8")


class ImportTemplateView(MerchantRequiredMixin, View):
    """A template per import: the header row and one example row."""

    def get(self, request, kind: str):
        if kind not in imports.TEMPLATES:
            raise Http404("No such template.")
        filename, rows = imports.import_template(kind)
        return csv_streaming_response(rows, filename=filename, content_type="text/csv; charset=utf-8")


SUGGEST_LIMIT, SUGGEST_MAX = 10, 20
STOCK_TASKS = {"adjust": "#adjust", "count": "?mode=count#adjust", "transfer": "#transfer"}


class ProductSuggestView(MerchantRequiredMixin, View):
    """GET /inventory/products.json?q=&limit=: the SKU picker's type-ahead (static/js/sku_picker.js) over the
    signed-in merchant's products, SKU prefix first, then SKU or title containing it; at most SUGGEST_MAX.
    Every form it helps still takes a typed SKU without it."""

    def get(self, request):
        q = optional_text(request.GET, "q", max_length=128)
        limit = parse_int(request.GET.get("limit") or SUGGEST_LIMIT, field="limit", min_value=1, max_value=SUGGEST_MAX)
        rows = selectors.product_suggest(merchant=self.merchant, q=q, limit=limit)
        return JsonResponse({"results": [{**r, "price": "" if r["price"] is None else str(r["price"])}
                                         for r in rows]})


class ProductFindView(MerchantRequiredMixin, View):
    """GET /inventory/find/?sku=&task=adjust|count|transfer: the inventory list's "adjust, count or move
    stock" box; goes to that product's form (an unknown SKU back to the list, saying so)."""

    def get(self, request):
        sku = optional_text(request.GET, "sku", max_length=128).strip()
        task = request.GET.get("task", "adjust")
        try:
            product = selectors.product_get_by_sku(merchant=self.merchant, sku=sku)
        except ApplicationError:
            messages.error(request, f"No product with SKU {sku}." if sku else "Type or pick a SKU first.")
            return HttpResponseRedirect(reverse("inventory-list"))
        return HttpResponseRedirect(reverse("inventory-product", args=[product.pk])
                                    + STOCK_TASKS.get(task, STOCK_TASKS["adjust"]))
