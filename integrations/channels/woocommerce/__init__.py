"""WooCommerce: orders by webhook and REST polling; stock pushed in batches."""

from integrations.registry import ChannelPackage

CHANNEL = ChannelPackage(
    slug="woocommerce", label="WooCommerce", colour="#7f54b3",
    summary="Orders by webhook and REST polling; stock pushed in batches.",
)
