from tests.fakes.amazon.fixtures import amazon_fake  # noqa: F401
from tests.fakes.shopify.fixtures import clocked_fake, manual_clock, shopify_fake, shopify_shop, shopify_token  # noqa: F401
