"""WooCommerce: orders by webhook and REST polling; stock pushed in batches.

The whole channel is this folder; `CHANNEL` is what IntegrationsConfig.ready() registers. Connecting is the
connect form (store URL, a REST API key) or WooCommerce's own key-granting flow (install.py: the merchant
approves in wp-admin and WooCommerce POSTs the key to us server to server, against a pending install row).
"""

from integrations.channels.woocommerce.adapter import WooCommerceAdapter
from integrations.channels.woocommerce.credentials import (
    woocommerce_account_ref,
    woocommerce_credentials_validate,
    woocommerce_error_words,
)
from integrations.channels.woocommerce.doctor import woocommerce_doctor
from integrations.channels.woocommerce.forms import WooCommerceConnectForm
from integrations.channels.woocommerce.install import WooCommerceInstall
from integrations.channels.woocommerce.webhooks import RECEIVER
from integrations.registry import ChannelPackage

CHANNEL = ChannelPackage(
    slug="woocommerce", label="WooCommerce", colour="#7f54b3",
    summary="Orders by webhook and REST polling; stock pushed in batches.",
    adapter=WooCommerceAdapter,
    connect_form=WooCommerceConnectForm,
    credentials_validate=woocommerce_credentials_validate,
    account_ref=woocommerce_account_ref,
    install=WooCommerceInstall,
    receiver=RECEIVER,
    error_words=woocommerce_error_words,
    doctor=woocommerce_doctor,
)
