from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from accounts.registry import onboarding_steps
        from inventory.services import location_create_default
        from inventory.services.imports import CATALOG_KIND, STOCK_KIND, import_job_summary
        from jobs.registry import job_summary_register

        onboarding_steps.register("inventory.default_location", location_create_default)
        job_summary_register(STOCK_KIND, import_job_summary)
        job_summary_register(CATALOG_KIND, import_job_summary)
