"""Dashboard forms of the orders app (validation only; the views call services)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.urls import reverse_lazy

from core.address import country_choices, region_choices
from core.errors import ValidationFailed
from orders.addresses import MAX_LENGTH
from orders.carriers import OTHER, carrier_choices, carrier_clean
from orders.channels import MANUAL, channel_choices
from orders.models import OrderStatus
from orders.services.manual import email_problem


class OrderFilterForm(forms.Form):
    """The list's filters, read from the query string."""

    search = forms.CharField(required=False, widget=forms.TextInput(attrs={"type": "search",
                                                                            "placeholder": "Number, SKU, title, customer, city…"}))
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *OrderStatus.choices])
    channel = forms.ChoiceField(required=False)
    store = forms.ChoiceField(required=False, label="Store")
    sku = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "SKU"}))
    tag = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "Tag"}))
    placed_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    placed_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    needs_attention = forms.BooleanField(required=False, label="Needs attention")
    short = forms.BooleanField(required=False, label="Short of stock")

    def __init__(self, *args, store_choices: list[tuple[int, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", "Any channel"), *channel_choices()]  # registered by now
        # The merchant's stores by name (orders.channels.store_choices, filled by integrations), read
        # by the view inside the request's scope; orders typed in here are a store of their own.
        self.fields["store"].choices = [("", "Any store"), *((str(pk), name) for pk, name in store_choices or []),
                                        (MANUAL, "Manual orders")]


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=80, label="View name")
    query = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)


class ManualOrderForm(forms.Form):
    customer_name = forms.CharField(required=False, max_length=255)
    # A type-ahead over this merchant's customers (static/js/sku_picker.js); picking one fills the name and
    # ship-to from their last order (manual_order.js). Typed by hand, it is any e-mail, as before.
    customer_email = forms.CharField(required=False, max_length=254, widget=forms.TextInput(attrs={
        "data-picker-url": reverse_lazy("order-customer-suggest"), "autocomplete": "off", "spellcheck": "false"}))
    currency = forms.RegexField(regex=r"^[A-Za-z]{3}$", max_length=3, required=False,
                                help_text="Three letters; the merchant's currency when empty.")
    shipping = forms.DecimalField(required=False, min_value=Decimal("0"), max_digits=12, decimal_places=2,
                                  initial=Decimal("0"))
    tax = forms.DecimalField(required=False, min_value=Decimal("0"), max_digits=12, decimal_places=2,
                             initial=Decimal("0"))
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_customer_email(self):
        value = self.cleaned_data["customer_email"].strip().lower()
        if problem := email_problem(value):
            raise forms.ValidationError(problem)
        return value


class ShippingAddressForm(forms.Form):
    """The manual order's shipping address. Which fields a country needs and its postcode's shape are the
    service's rule (core/address.py, shared with the API and the merchant's address); the form only reads
    and labels."""

    name = forms.CharField(required=False, max_length=MAX_LENGTH["name"], label="Recipient name",
                           help_text="The customer's name when empty.")
    company = forms.CharField(required=False, max_length=MAX_LENGTH["company"])
    line1 = forms.CharField(required=False, max_length=MAX_LENGTH["line1"], label="Address line 1")
    line2 = forms.CharField(required=False, max_length=MAX_LENGTH["line2"], label="Address line 2")
    city = forms.CharField(required=False, max_length=MAX_LENGTH["city"])
    region = forms.CharField(required=False, max_length=MAX_LENGTH["region"], label="State / province / region")
    postal_code = forms.CharField(required=False, max_length=MAX_LENGTH["postal_code"], label="Postcode / ZIP")
    country = forms.ChoiceField(required=False)
    phone = forms.CharField(required=False, max_length=MAX_LENGTH["phone"],
                            widget=forms.TextInput(attrs={"type": "tel"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="address", **kwargs)
        self.fields["country"].choices = [("", "Choose a country…"), *country_choices()]
        # A country with a list of regions (US states, Canadian provinces...) gets a select; manual_order.js
        # swaps select and text box when the country changes, and the service checks the value either way.
        country = self.data.get(self.add_prefix("country")) if self.is_bound else self.initial.get("country")
        if regions := region_choices(country or ""):
            self.fields["region"].widget = forms.Select(choices=[("", "Choose…"), *regions])
        for name in ("line1", "city", "country"):
            self.fields[name].widget.attrs["required"] = "required"  # every country's rule needs them


class ManualLineForm(forms.Form):
    sku = forms.CharField(max_length=128, label="SKU", widget=forms.TextInput(
        attrs={"autocomplete": "off", "data-sku-search": "", "data-sku-picker": "", "aria-label": "SKU"}))
    quantity = forms.IntegerField(min_value=1, max_value=100000,
                                  widget=forms.NumberInput(attrs={"aria-label": "Quantity"}))
    unit_price = forms.DecimalField(min_value=Decimal("0"), max_digits=12, decimal_places=2, required=False,
                                    widget=forms.NumberInput(attrs={"placeholder": "0.00", "step": "0.01",
                                                                    "aria-label": "Unit price"}))


ManualLineFormSet = forms.formset_factory(ManualLineForm, extra=0, min_num=1, validate_min=True, max_num=200,
                                          validate_max=True, can_delete=True)


class ShipmentForm(forms.Form):
    """Quantities per line are posted as qty_<line id>; the view builds the requests. The carrier is one of
    the list (orders.carriers) or "Other" with its name; cleaned, `carrier` is the name Shipment stores."""

    # A select of the list; any posted value goes to carrier_clean (a code or a listed name, as the API takes).
    carrier = forms.CharField(required=False, max_length=64,
                              widget=forms.Select(choices=[("", "No carrier"), *carrier_choices()]))
    carrier_name = forms.CharField(required=False, max_length=64, label="Carrier name (Other)")
    tracking_number = forms.CharField(required=False, max_length=128)
    tracking_url = forms.URLField(required=False, max_length=500, assume_scheme="https")
    ship_now = forms.BooleanField(required=False, initial=True, label="Mark shipped now")

    def clean(self):
        data = super().clean()
        try:
            data["carrier"] = carrier_clean(data.get("carrier"), data.get("carrier_name"))
        except ValidationFailed as exc:
            self.add_error("carrier_name" if data.get("carrier") == OTHER else "carrier", exc.message)
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(required=False, max_length=255)


class TagsNotesForm(forms.Form):
    tags = forms.CharField(required=False, help_text="Comma-separated.")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]


class MapSkuForm(forms.Form):
    line = forms.IntegerField(widget=forms.HiddenInput)
    sku = forms.CharField(max_length=128, label="Product SKU")
    all_open_lines = forms.BooleanField(required=False, initial=True, label="Also every other open order with this SKU")
    remember = forms.BooleanField(required=False, label="Remember: future orders with this SKU match this product")
    remember_store_only = forms.BooleanField(required=False, label="Only for orders from this store")
