from django import forms

from webhooks.models import WebhookEvent
from webhooks.selectors import TOPIC_MAX


class WebhookEventFilterForm(forms.Form):
    """The inbox's filters, read from the query string (parsed by WebhookEventFilters, shown by this form)."""

    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *WebhookEvent.Status.choices])
    topic = forms.CharField(required=False, max_length=TOPIC_MAX,
                            widget=forms.TextInput(attrs={"placeholder": "Topic, e.g. orders/create"}))
    integration = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Store")
    received_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    received_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, store_choices: list[tuple[int, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["integration"].choices = [("", "Any store"), *(store_choices or [])]
