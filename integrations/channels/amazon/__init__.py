"""Amazon: orders polled from the Selling Partner API (Orders v2026-01-01); stock pushed through listings
(patchListingsItem for a few SKUs, a JSON_LISTINGS_FEED for many); shipments confirmed (v0 confirmShipment).

The whole channel is this folder; `CHANNEL` is what IntegrationsConfig.ready() registers.
"""

from integrations.channels.amazon.adapter import AmazonAdapter
from integrations.channels.amazon.credentials import (
    amazon_account_ref,
    amazon_credentials_validate,
    amazon_error_words,
)
from integrations.channels.amazon.doctor import amazon_doctor
from integrations.channels.amazon.forms import AmazonConnectForm
from integrations.channels.amazon.install import AmazonInstall
from integrations.registry import ChannelPackage

CHANNEL = ChannelPackage(
    slug="amazon", label="Amazon", colour="#ff9900",
    summary="Orders polled every two minutes; stock pushed through listings and feeds; shipments confirmed.",
    adapter=AmazonAdapter,
    connect_form=AmazonConnectForm,
    credentials_validate=amazon_credentials_validate,
    account_ref=amazon_account_ref,
    install=AmazonInstall,
    error_words=amazon_error_words,
    doctor=amazon_doctor,
)
