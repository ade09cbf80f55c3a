"""Every form field on every page carries its name for screen readers.

Templates often lay fields out by hand (a filter toolbar, a formset's rows in a table) without a
`<label>`; a field whose widget has no aria-label gets its form label as one, and a formset row
says which row it is ("SKU, row 2"). Installed for every form by settings.FORM_RENDERER.
"""

from __future__ import annotations

import re

from django.forms.boundfield import BoundField
from django.forms.renderers import DjangoTemplates

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
