from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from accounts.registry import onboarding_steps
        from inventory.registry import availability_consumer_register
        from orders.channels import MANUAL, channel_register
        from orders.services import notification_settings_create_default
        from orders.services.allocation import CONSUMER

        onboarding_steps.register("orders.notification_settings", notification_settings_create_default)
        availability_consumer_register(CONSUMER, "Tops up short orders oldest first when stock arrives.")
        channel_register(slug=MANUAL, label="Manual", colour="#1f4fd6")  # orders typed in by the merchant
