"""Dashboard forms of the integrations app: they parse what was typed; the services validate the rest
(credential forms, push rule ranges) so the page and the API refuse the same things in the same words."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms

from integrations.services import NAME_MAX


class ConnectForm(forms.Form):
    """The base of a channel package's connect form (what a merchant types to connect a store). Secrets
    are password inputs that never re-fill. `account_field` names the field holding the store's account
    (prefilled on a reconnect, and compared with the store being reconnected); `help_text` says where on
    the channel the merchant finds the credentials."""

    account_field: ClassVar[str] = ""
    help_text: ClassVar[str] = ""

    name = forms.CharField(max_length=NAME_MAX, required=False, label="Name in Switchboard",
                           help_text="Optional; the store's account when empty.")

    def credentials(self) -> dict[str, Any]:
        """The credentials dict the package's validator takes (and the integration stores, encrypted)."""
        raise NotImplementedError

    def account(self) -> str:
        return str(self.cleaned_data.get(self.account_field) or "") if self.account_field else ""

    def store_name(self) -> str:
        return (self.cleaned_data.get("name") or "").strip() or self.account()


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
