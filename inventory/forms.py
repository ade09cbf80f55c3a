from __future__ import annotations

from django import forms
from django.utils.safestring import mark_safe

from inventory import selectors
from inventory.models import StockMovement
from inventory.services._core import MAX_UNITS
from inventory.services.adjust import ADJUST_REASONS, REASON_SIGN, adjust_reason_default
from inventory.services.catalog import PRODUCT_FIELDS


class _MerchantForm(forms.Form):
    # The product page shows the adjust and transfer forms together: each needs its own element ids
    # (both have quantity and note), or a label focuses the other form's field.
    auto_id = "id_%s"

    def __init__(self, *args, merchant, **kwargs):
        kwargs.setdefault("auto_id", self.auto_id)
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        for name in ("location", "from_location", "to_location"):
            if name in self.fields:
                self.fields[name].queryset = selectors.location_list(merchant=merchant)


class AdjustForm(_MerchantForm):
    auto_id = "id_adjust_%s"
    MODES = [("delta", "Add or remove units"), ("count", "Set the counted number (stocktake)")]
    REASONS = [("", "From the sign: received when adding, correction when removing"),
               *((r.value, r.label) for r in ADJUST_REASONS)]

    location = forms.ModelChoiceField(queryset=None, empty_label=None)
    mode = forms.ChoiceField(choices=MODES, initial="delta", widget=forms.RadioSelect)
    quantity = forms.IntegerField(min_value=-MAX_UNITS, max_value=MAX_UNITS,
                                  help_text="A change such as 12 or -3; or, for a stocktake, the units counted.")
    reason = forms.ChoiceField(choices=REASONS, required=False,
                               help_text="For changes (received, found and returned add; damaged and lost remove); "
                               "a count is a stocktake.")
    note = forms.CharField(max_length=255, required=False)

    def clean(self):
        data = super().clean()
        if data.get("mode") == "delta" and data.get("quantity") == 0:
            self.add_error("quantity", "A change cannot be 0.")
        if data.get("mode") == "count" and (data.get("quantity") or 0) < 0:
            self.add_error("quantity", "A count cannot be negative.")
        quantity = data.get("quantity")
        if data.get("mode") == "delta" and quantity:
            if not data.get("reason"):
                data["reason"] = adjust_reason_default(quantity)  # the server's default follows the sign too
            sign = REASON_SIGN.get(data["reason"])
            if sign is not None and (quantity > 0) != (sign > 0):
                self.add_error("reason", f"{StockMovement.Reason(data['reason']).label} "
                               f"{'adds' if sign > 0 else 'removes'} units; use a "
                               f"{'positive' if sign > 0 else 'negative'} quantity or another reason.")
        return data


class TransferForm(_MerchantForm):
    auto_id = "id_transfer_%s"
    from_location = forms.ModelChoiceField(queryset=None, empty_label=None, label="From")
    to_location = forms.ModelChoiceField(queryset=None, empty_label=None, label="To")
    quantity = forms.IntegerField(min_value=1, max_value=MAX_UNITS)
    note = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        others = list(self.fields["to_location"].queryset.filter(is_default=False).values_list("pk", flat=True)[:1])
        if others:
            self.fields["to_location"].initial = others[0]

    def clean(self):
        data = super().clean()
        if data.get("from_location") and data.get("from_location") == data.get("to_location"):
            self.add_error("to_location", "Choose a different location.")
        return data


class ImportForm(forms.Form):
    # The file's column names are shown as code (they are what the CSV's header row must say).
    KINDS = [("stock", mark_safe("Stock levels (<code>sku</code>, <code>location</code>, <code>on_hand</code> or "
                                 "<code>delta</code>)")),
             ("catalog", mark_safe("Catalog (<code>sku</code>, <code>title</code>, <code>barcode</code>, "
                                   "<code>weight_grams</code>, …)"))]

    kind = forms.ChoiceField(choices=KINDS, initial="stock", widget=forms.RadioSelect)
    file = forms.FileField(help_text="A CSV file with a header row. Nothing changes until you apply the preview.")

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > 50 * 1024 * 1024:
            raise forms.ValidationError("The file is larger than 50 MB.")
        return f


def _money(label: str, help_text: str) -> forms.DecimalField:
    return forms.DecimalField(label=label, max_digits=12, decimal_places=2, min_value=0, required=False,
                              help_text=help_text)


class _ProductFields(forms.Form):
    """The catalog fields both product forms share, with the names people use for them."""

    title = forms.CharField(max_length=255)
    barcode = forms.CharField(max_length=64, required=False, help_text="EAN/UPC/GTIN.")
    price = _money("Price", "Selling price, in your currency; filled in on manual orders.")
    cost = _money("Cost", "What one unit costs you; values your stock. Blank when not known.")
    image_url = forms.URLField(max_length=500, required=False, label="Image URL", assume_scheme="https")
    supplier = forms.CharField(max_length=255, required=False)
    supplier_sku = forms.CharField(max_length=128, required=False, label="Supplier SKU")
    weight_grams = forms.IntegerField(min_value=0, max_value=MAX_UNITS, required=False, label="Weight (g)")
    length_mm = forms.IntegerField(min_value=0, max_value=MAX_UNITS, required=False, label="Length (mm)")
    width_mm = forms.IntegerField(min_value=0, max_value=MAX_UNITS, required=False, label="Width (mm)")
    height_mm = forms.IntegerField(min_value=0, max_value=MAX_UNITS, required=False, label="Height (mm)")
    customs_description = forms.CharField(max_length=255, required=False, label="Customs description",
                                          help_text="What customs read it as on international parcels; blank: the title.")
    hs_code = forms.CharField(max_length=16, required=False, label="HS code", help_text="e.g. 6109.10")
    origin_country = forms.CharField(max_length=2, required=False, label="Country of origin",
                                     help_text="Two letters, e.g. US, CN, DE.")
    low_stock_threshold = forms.IntegerField(
        min_value=0, max_value=MAX_UNITS, initial=0, label="Low-stock threshold",
        help_text="At or under this many available units it is low (0: never).",
    )


class ProductForm(_ProductFields):
    """A new product, and the stock it arrives with (received through the stock service, same transaction)."""

    sku = forms.CharField(max_length=64, label="SKU")
    opening_stock = forms.IntegerField(min_value=0, max_value=MAX_UNITS, required=False, initial=0,
                                       label="Opening stock", help_text="Units on hand now (recorded as received).")
    opening_location = forms.ModelChoiceField(queryset=None, empty_label=None, required=False,
                                              label="Opening stock location")

    field_order = ["sku", "title"]

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["low_stock_threshold"].required = False
        self.fields["opening_location"].queryset = selectors.location_list(merchant=merchant)


class ProductEditForm(_ProductFields):
    """Catalog fields of an existing product (the SKU is changed through the API or a catalog import)."""

    is_active = forms.BooleanField(required=False, label="Active")
    allows_backorder = forms.BooleanField(required=False, label="Allow backorders",
                                          help_text="Orders may reserve more than is on hand.")

    FIELDS = PRODUCT_FIELDS

    @classmethod
    def for_product(cls, product, data=None):
        return cls(data, initial={name: getattr(product, name) for name in cls.FIELDS})


class ComponentRowForm(forms.Form):
    sku = forms.CharField(max_length=64, required=False, label="Component SKU",
                          widget=forms.TextInput(attrs={"data-sku-picker": "", "autocomplete": "off"}))
    quantity = forms.IntegerField(min_value=1, max_value=MAX_UNITS, required=False, label="Per bundle")

    def clean(self):
        data = super().clean()
        if (data.get("sku") or "").strip() and not data.get("quantity") and not data.get("DELETE"):
            self.add_error("quantity", "How many of this component go into one bundle?")
        return data


ComponentFormSet = forms.formset_factory(ComponentRowForm, extra=3, can_delete=True, max_num=200,
                                         validate_max=True)


class LocationForm(forms.Form):
    name = forms.CharField(max_length=100)
    code = forms.CharField(max_length=32, required=False,
                           help_text="Short name used in CSV files; made from the name when blank.")
    is_default = forms.BooleanField(required=False, label="Make this the default location")


class LocationRenameForm(forms.Form):
    name = forms.CharField(max_length=100)
    code = forms.CharField(max_length=32)
