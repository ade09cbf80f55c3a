from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin
from integrations.registry import channel_packages


class IntegrationListView(MerchantRequiredMixin, TemplateView):
    """The channels a merchant can connect. Connecting arrives with the channel clients."""

    template_name = "integrations/list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(channels=channel_packages.values(), **kwargs)
