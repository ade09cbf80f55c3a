from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        from integrations.channels import amazon, shopify, woocommerce
        from integrations.registry import channel_package_register

        # One line per channel: its package says what it is, the registries tell the lower apps.
        for package in (shopify, woocommerce, amazon):
            channel_package_register(package.CHANNEL)
