from allauth.core import context
from django import forms
from django.conf import settings

from accounts.models import Merchant
from accounts.services import SHIP_BY_DAYS_MAX, time_zone_choices
from accounts.services.merchants import SIGNUP_DEFAULT_CURRENCY
from accounts.sessions import SESSION_INVITATION
from core.address import country_choices
from core.iso_codes import CURRENCIES

BUSINESS_FIELDS = ("business_name", "currency", "timezone")


def _currency_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} · {name}") for code, name in CURRENCIES.items()]


def _zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in time_zone_choices()]


class SignupExtraForm(forms.Form):
    """Extra sign-up fields; allauth merges them into its sign-up form."""

    first_name = forms.CharField(max_length=150, required=False, label="Your name")
    business_name = forms.CharField(max_length=200, required=False, label="Business name",
                                    help_text="Shown to your team; change it later in Settings.")
    currency = forms.ChoiceField(label="Currency", initial=SIGNUP_DEFAULT_CURRENCY, choices=_currency_choices,
                                 required=False, help_text="The currency your reports and manual orders use.")
    timezone = forms.ChoiceField(label="Time zone", initial=settings.TIME_ZONE, choices=_zone_choices,
                                 required=False, help_text="Your business day: ship-by dates and late orders count in it.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Someone signing up from an invitation joins that business rather than naming their own.
        request = context.request
        if request is not None and hasattr(request, "session") and request.session.get(SESSION_INVITATION):
            for name in BUSINESS_FIELDS:
                self.fields.pop(name, None)
            return
        # The browser's zone replaces the server's default (static/js/app.js), unless the form came back
        # with the person's own choice in it.
        self.fields["timezone"].widget.attrs["data-browser-zone"] = ""
        if self.is_bound:
            self.fields["timezone"].widget.attrs["data-chosen"] = ""

    def signup(self, request, user) -> None:
        user.first_name = self.cleaned_data.get("first_name", "")
        user.save(update_fields=["first_name"])


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Token name", help_text="What will use it, e.g. 'ERP sync'.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_token_%s")  # shares the Settings page with other forms' "name"
        super().__init__(*args, **kwargs)


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    role = forms.ChoiceField(label="Role", choices=[("staff", "Staff"), ("owner", "Owner")], initial="staff")


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=[("staff", "Staff"), ("owner", "Owner")])


def _country_choices() -> list[tuple[str, str]]:
    return [("", "Choose a country"), *country_choices()]


ADDRESS_PARTS = ("name", "line1", "line2", "city", "region", "postcode", "country", "phone")


class MerchantSettingsForm(forms.Form):
    """The merchant's settings page. Shapes only; the rules are merchant_update's (its errors
    come back onto these fields through add_service_errors)."""

    name = forms.CharField(label="Business name", max_length=200)
    currency = forms.ChoiceField(label="Currency", choices=_currency_choices)
    timezone = forms.ChoiceField(label="Time zone", choices=_zone_choices)
    default_ship_by_days = forms.IntegerField(
        label="Default ship-by (business days)", min_value=0, max_value=SHIP_BY_DAYS_MAX,
        help_text="When a channel makes no promise, an order should ship this many business days after it was placed.",
    )
    address_name = forms.CharField(label="Name or company", max_length=200, required=False)
    address_line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    address_city = forms.CharField(label="City", max_length=100, required=False)
    address_region = forms.CharField(label="State, county or region", max_length=100, required=False)
    address_postcode = forms.CharField(label="Postcode or ZIP", max_length=20, required=False)
    address_country = forms.ChoiceField(label="Country", choices=_country_choices, required=False)
    address_phone = forms.CharField(label="Phone", max_length=32, required=False,
                                    help_text="Printed on labels; ShipStation refuses a label without it.")
    label_format = forms.ChoiceField(label="Label format", choices=Merchant.LabelFormat.choices, required=False,
                                     help_text="PDF prints anywhere; ZPL is for thermal label printers.")

    def __init__(self, *args, read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # A value saved before these lists (an alias such as "GB", a retired currency) is still
        # shown as it is, not silently replaced by the first option; merchant_update judges it.
        for name in ("timezone", "currency"):
            current = self.initial.get(name)
            field = self.fields[name]
            if current and current not in {value for value, _ in field.choices}:
                field.choices = [(current, current), *field.choices]
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    @classmethod
    def initial_for(cls, merchant) -> dict:
        address = merchant.address or {}
        initial = {"name": merchant.name, "currency": merchant.currency, "timezone": merchant.timezone,
                   "default_ship_by_days": merchant.default_ship_by_days, "label_format": merchant.label_format}
        initial.update({f"address_{part}": address.get(part, "") for part in ADDRESS_PARTS})
        return initial

    def address(self) -> dict:
        return {part: self.cleaned_data.get(f"address_{part}") or "" for part in ADDRESS_PARTS}

    def add_service_errors(self, details: dict) -> None:
        for key, message in details.items():
            if key == "address" and isinstance(message, dict):
                for part, part_message in message.items():
                    self.add_error(f"address_{part}" if part in ADDRESS_PARTS else None, part_message)
            else:
                self.add_error(key if key in self.fields else None, message)
