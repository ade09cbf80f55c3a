"""Shopify: orders by webhook and polling; stock pushed with inventorySetQuantities."""

from integrations.channels.shopify.adapter import ShopifyAdapter
from integrations.registry import ChannelPackage

CHANNEL = ChannelPackage(
    slug="shopify", label="Shopify", colour="#5e8e3e",
    summary="Orders by webhook and polling; stock pushed with inventorySetQuantities.",
    adapter=ShopifyAdapter,
)
