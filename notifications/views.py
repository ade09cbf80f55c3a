"""The notification settings page (served under Orders → Notifications, /orders/notifications/)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin
from notifications import services
from notifications.forms import NotificationSettingsForm


class NotificationSettingsView(MerchantRequiredMixin, TemplateView):
    template_name = "notifications/settings.html"

    def get(self, request, *args, **kwargs):
        prefs = services.notification_settings_get(merchant=self.merchant)
        return self.render_to_response(self.get_context_data(form=NotificationSettingsForm(instance=prefs)))

    def post(self, request, *args, **kwargs):
        prefs = services.notification_settings_get(merchant=self.merchant)
        form = NotificationSettingsForm(request.POST, instance=prefs)
        if form.is_valid():
            services.notification_settings_update(merchant=self.merchant, **form.cleaned_data)
            messages.success(request, "Notification settings saved.")
            return HttpResponseRedirect(request.path)
        return render(request, self.template_name, self.get_context_data(form=form), status=400)
