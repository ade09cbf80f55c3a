"""The shipping setup page's forms: shapes only; the rules are labels.services' (their errors come back
onto these fields)."""

from __future__ import annotations

from django import forms

from core.address import country_choices
from labels.services.packages import DIMENSION_MAX_MM, EMPTY_WEIGHT_MAX_GRAMS
from orders.channels import MANUAL, channel_choices


class PackagePresetForm(forms.Form):
    name = forms.CharField(max_length=80, label="Package name", help_text="e.g. Medium box")
    length_mm = forms.IntegerField(min_value=1, max_value=DIMENSION_MAX_MM, label="Length (mm)")
    width_mm = forms.IntegerField(min_value=1, max_value=DIMENSION_MAX_MM, label="Width (mm)")
    height_mm = forms.IntegerField(min_value=1, max_value=DIMENSION_MAX_MM, label="Height (mm)")
    empty_weight_grams = forms.IntegerField(min_value=0, max_value=EMPTY_WEIGHT_MAX_GRAMS, initial=0,
                                            label="Empty weight (g)", help_text="Added to the products' weight.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_package_%s")  # shares the page with the rule form
        super().__init__(*args, **kwargs)


class ShippingRuleForm(forms.Form):
    channel = forms.ChoiceField(label="Orders from", required=False)
    country = forms.ChoiceField(label="Going to", required=False)
    rule = forms.CharField(max_length=140, label="Choose", initial="cheapest",
                           help_text='cheapest, fastest, or service:<carrier service> (e.g. service:Priority)')

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_rule_%s")
        super().__init__(*args, **kwargs)
        channels = dict(channel_choices())
        channels.setdefault(MANUAL, "Manual")
        self.fields["channel"].choices = [("", "Any channel"), *channels.items()]
        self.fields["country"].choices = [("", "Anywhere"), *country_choices()]
