from django.apps import AppConfig


class LabelsConfig(AppConfig):
    name = "labels"

    def ready(self) -> None:
        # Function-level imports: ready() runs once every app is loaded; at module level the packages
        # would import models before the app registry is ready.
        from jobs.registry import job_summary_register
        from labels import batch_views, views
        from labels.carriers import easypost, shipstation
        from labels.registry import carrier_package_register
        from labels.services.batches import BATCH_KIND
        from orders.bulk_actions import register_bulk_action
        from orders.order_page import OrderPageSection, order_page_sections

        carrier_package_register(easypost.CARRIER)
        carrier_package_register(shipstation.CARRIER)
        # The order list's bulk actions and the order page's section (orders cannot name labels' pages).
        register_bulk_action("buy_labels", "Buy labels…", batch_views.label_batch_confirm)
        register_bulk_action("packing_slips", "Packing slips (PDF)", batch_views.packing_slips_for_orders)
        register_bulk_action("pick_list", "Pick list (PDF)", batch_views.pick_list_for_orders)
        job_summary_register(BATCH_KIND, batch_views.label_batch_job_summary)
        order_page_sections.register("labels", OrderPageSection(template="labels/_order_section.html",
                                                                context=views.order_section))
        # The home page's setup checklist: carrier accounts are labels' fact.
        from accounts.registry import ChecklistStep, checklist_steps
        from labels.selectors import has_carrier_account

        checklist_steps.register("labels.carrier", ChecklistStep(
            position=50, title="Add a carrier account",
            description="Connect EasyPost or ShipStation to buy and print labels here.",
            url_name="carrier-accounts", is_done=has_carrier_account))
