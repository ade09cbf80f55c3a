"""Amazon: orders from the Selling Partner API; stock pushed through listings."""

from integrations.registry import ChannelPackage

CHANNEL = ChannelPackage(
    slug="amazon", label="Amazon", colour="#ff9900",
    summary="Orders from the Selling Partner API; stock pushed through listings.",
)
