from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin

CHANNELS = [
    ("shopify", "Shopify", "Orders by webhook and polling; stock pushed with inventorySetQuantities."),
    ("woocommerce", "WooCommerce", "Orders by webhook and REST polling; stock pushed in batches."),
    ("amazon", "Amazon", "Orders from the Selling Partner API; stock pushed through listings."),
]


class IntegrationListView(MerchantRequiredMixin, TemplateView):
    """The channels a merchant can connect. Connecting arrives with the channel clients."""

    template_name = "integrations/list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(channels=CHANNELS, **kwargs)
