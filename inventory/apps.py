from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from accounts.registry import onboarding_steps
        from inventory.services import location_create_default

        onboarding_steps.register("inventory.default_location", location_create_default)
