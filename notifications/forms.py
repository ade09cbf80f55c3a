"""The notification settings form (validation only; the view calls the service)."""

from __future__ import annotations

from django import forms

from notifications.errors import InvalidRecipients
from notifications.models import NotificationSettings
from notifications.services import recipients_parse


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = ["new_order_mode", "notify_channel_cancellation", "notify_sync_failure", "notify_customer_shipped",
                  "notify_customer_out_for_delivery", "notify_customer_delivered", "notify_customer_exception",
                  "notify_low_stock", "recipients"]
        widgets = {"recipients": forms.TextInput(attrs={"placeholder": "owner@shop.com, ops@shop.com"})}

    def clean_recipients(self) -> str:
        """The service's own rule, so the page shows which addresses it refuses before anything is saved."""
        try:
            return ", ".join(recipients_parse(self.cleaned_data["recipients"]))
        except InvalidRecipients as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
