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

        from inventory.registry import reference_links
        from inventory.selectors import import_reference_links, transfer_reference_links

        # The product page's ledger links its references to what they name (orders registers its lines).
        reference_links.register("import", import_reference_links)
        reference_links.register("transfer", transfer_reference_links)

        from accounts.registry import ChecklistStep, checklist_steps
        from inventory.selectors import has_catalog, has_stock

        checklist_steps.register("inventory.catalog", ChecklistStep(
            position=20, title="Bring in the catalog",
            description="Import your products from a CSV here, or from a connected store's listings on its page.",
            url_name="inventory-import", is_done=has_catalog))
        checklist_steps.register("inventory.stock", ChecklistStep(
            position=30, title="Set stock",
            description="Upload how many of each SKU you hold (a stock CSV), or adjust a product from its page.",
            url_name="inventory-import", is_done=has_stock))
