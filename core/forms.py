"""Form helpers every app shares: a merchant-typed URL we will call (`PublicUrlField`), and every form field
on every page carrying its name for screen readers.

Templates often lay fields out by hand (a filter toolbar, a formset's rows in a table) without a
`<label>`; a field whose widget has no aria-label gets its form label as one, and a formset row
says which row it is ("SKU, row 2"). Installed for every form by settings.FORM_RENDERER.
"""

from __future__ import annotations

import re

from django import forms
from django.forms.boundfield import BoundField
from django.forms.renderers import DjangoTemplates

from core.http import Rejected, url_check

_ROW = re.compile(r"-(\d+)$")


class LabelledBoundField(BoundField):
    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if widget.is_hidden or "aria-label" in attrs or "aria-label" in widget.attrs or "aria-labelledby" in widget.attrs:
            return attrs
        label = str(self.label or self.name)
        row = _ROW.search(self.form.prefix or "")
        attrs["aria-label"] = f"{label}, row {int(row.group(1)) + 1}" if row else label
        return attrs


class FormRenderer(DjangoTemplates):
    bound_field_class = LabelledBoundField


class PublicUrlField(forms.URLField):
    """A URL we will call on the merchant's behalf (a self-hosted store's address): https and public, by
    core.http.url_check, so a form says at once what the client would refuse later ("... resolves to a
    private address"). Hosts in OUTBOUND_ALLOWED_PRIVATE_HOSTS pass, as they do for the client."""

    default_error_messages = {"private": "%(reason)s"}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)

    def validate(self, value: str) -> None:
        super().validate(value)
        if value in self.empty_values:
            return
        try:
            url_check(value)
        except Rejected as refused:
            raise forms.ValidationError(self.error_messages["private"], code="private",
                                        params={"reason": refused.message}) from refused
