"""Shopify: orders by webhook and polling; stock pushed with inventorySetQuantities.

The whole channel is this folder; `CHANNEL` is what IntegrationsConfig.ready() registers.
"""

from integrations.channels.shopify.adapter import ShopifyAdapter
from integrations.channels.shopify.credentials import (
    shopify_account_ref,
    shopify_credentials_validate,
    shopify_error_words,
)
from integrations.channels.shopify.forms import ShopifyConnectForm
from integrations.channels.shopify.install import ShopifyInstall
from integrations.channels.shopify.webhooks import RECEIVER
from integrations.registry import ChannelPackage

CHANNEL = ChannelPackage(
    slug="shopify", label="Shopify", colour="#5e8e3e",
    summary="Orders by webhook and polling; stock pushed with inventorySetQuantities.",
    adapter=ShopifyAdapter,
    connect_form=ShopifyConnectForm,
    credentials_validate=shopify_credentials_validate,
    account_ref=shopify_account_ref,
    install=ShopifyInstall,
    receiver=RECEIVER,
    # app/uninstalled: Shopify revoked the tokens; the shop domain and client secret stay (compliance
    # webhooks still arrive, signed with the secret, after an uninstall).
    forget_on_uninstall=("access_token", "refresh_token"),
    error_words=shopify_error_words,
)
