"""Dashboard forms of the integrations app: they parse what was typed; the services validate the rest
(credential forms, push rule ranges) so the page and the API refuse the same things in the same words."""

from __future__ import annotations

import re

from django import forms

from integrations.services import NAME_MAX

# The form Shopify's own install flow checks; the channel's credential validator checks it again.
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$", re.ASCII)


def _shop_domain(value: str) -> str:
    """`My-Store.myshopify.com`, `https://my-store.myshopify.com/admin` → `my-store.myshopify.com`."""
    text = value.strip().lower()
    text = re.sub(r"^https?://", "", text).split("/", 1)[0]
    if not SHOP_DOMAIN.fullmatch(text):
        raise forms.ValidationError("Enter the store's myshopify.com domain, e.g. my-store.myshopify.com.")
    return text


class ShopDomainField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("label", "Shop domain")
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "my-store.myshopify.com",
                                                           "autocomplete": "off", "spellcheck": "false"}))
        super().__init__(**kwargs)

    def clean(self, value):
        return _shop_domain(super().clean(value))


class InstallForm(forms.Form):
    """Our app's OAuth install: only the shop is asked; Shopify asks the merchant to approve."""

    shop_domain = ShopDomainField()
    name = forms.CharField(max_length=NAME_MAX, required=False, label="Name in Switchboard",
                           help_text="Optional; the shop domain when empty.")


class TokenConnectForm(forms.Form):
    """An existing custom app's Admin API access token and client secret. Secrets are never rendered
    back: the widgets are password inputs that do not re-fill after a failed submit."""

    name = forms.CharField(max_length=NAME_MAX, required=False, label="Name in Switchboard",
                           help_text="Optional; the shop domain when empty.")
    shop_domain = ShopDomainField()
    access_token = forms.CharField(max_length=255, label="Admin API access token", strip=True,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "off", "placeholder": "shpat_…"}))
    client_secret = forms.CharField(max_length=255, label="API secret key (client secret)", strip=True,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "off"}))

    def credentials(self) -> dict[str, str]:
        d = self.cleaned_data
        return {"shop_domain": d["shop_domain"], "access_token": d["access_token"], "client_secret": d["client_secret"]}

    def store_name(self) -> str:
        return self.cleaned_data["name"].strip() or self.cleaned_data["shop_domain"]


class PushRulesForm(forms.Form):
    """The push rules. Only whole numbers are parsed here; ranges are integration_update's to refuse."""

    buffer_units = forms.IntegerField(required=False, label="Units held back",
                                      help_text="Subtracted from available before pushing.")
    percent = forms.IntegerField(required=False, label="Percent of available",
                                 help_text="Push this share of what is left (100 = all).")
    max_quantity = forms.IntegerField(required=False, label="Never show more than",
                                      help_text="Empty: no cap.")
    zero_at_or_below = forms.IntegerField(required=False, label="Send 0 at or below",
                                          help_text="Empty: off.")
    location_external_id = forms.CharField(required=False, max_length=64, label="Channel location id",
                                           help_text="Where stock is pushed. \"Test connection\" lists the store's locations here.")

    location_ids = forms.TypedMultipleChoiceField(
        required=False, coerce=int, choices=[], widget=forms.CheckboxSelectMultiple, label="Our locations feeding this store",
        help_text="The quantity pushed sums only these. None ticked: all locations.")

    NULLABLE = ("max_quantity", "zero_at_or_below")

    def __init__(self, *args, locations: list[dict] | None = None, our_locations: list[tuple[int, str]] | None = None,
                 **kwargs):
        """`locations`: the store's locations as the last connection test listed them
        ({external_id, name, is_primary}); with them the location is a choice, not an id to type.
        `our_locations`: the merchant's own locations (id, name), to choose which feed the store."""
        super().__init__(*args, **kwargs)
        self.fields["location_ids"].choices = list(our_locations or [])
        if locations:
            current = str(self.initial.get("location_external_id") or "")
            choices = [(str(loc["external_id"]), f"{loc['name']}{' (primary)' if loc.get('is_primary') else ''}")
                       for loc in locations]
            if current and current not in {value for value, _ in choices}:
                choices.append((current, f"Location {current} (no longer listed)"))
            self.fields["location_external_id"] = forms.ChoiceField(
                required=False, choices=[("", "Not chosen"), *choices], label="Channel location",
                help_text="Where stock is pushed.")

    def settings_changes(self) -> dict:
        """The partial settings for integration_update: an empty nullable rule clears it, an empty
        required rule is left as it is."""
        changes: dict = {}
        for name, value in self.cleaned_data.items():
            if name == "location_external_id":
                changes[name] = value.strip() or None
            elif name == "location_ids":
                changes[name] = sorted(value) or None
            elif value is not None:
                changes[name] = value
            elif name in self.NULLABLE:
                changes[name] = None
        return changes


class ListingMapForm(forms.Form):
    sku = forms.CharField(max_length=64, label="Product SKU")


class ListingFilterForm(forms.Form):
    matched = forms.ChoiceField(required=False, choices=[("", "All listings"), ("false", "Unmatched"),
                                                         ("true", "Matched")])

    def matched_value(self) -> bool | None:
        if not self.is_valid():
            return None
        return {"true": True, "false": False}.get(self.cleaned_data["matched"])
