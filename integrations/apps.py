from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        # Function-level imports: ready() runs once every app is loaded; at module level these would
        # import models before the app registry is ready.
        from core.metrics import gauge_sources
        from integrations.channels import amazon, shopify, woocommerce
        from integrations.listings import IMPORT_KIND
        from integrations.metrics import integration_gauges
        from integrations.registry import channel_package_register
        from integrations.selectors import (
            integration_alerts,
            integration_choices,
            listings_import_summary,
            product_listings,
        )
        from integrations.sync.stock import CONSUMER, stock_push_schedule
        from integrations.sync.tracking import tracking_push_schedule
        from inventory.registry import availability_consumer_register, product_listing_sources
        from jobs.registry import job_summary_register
        from orders.channels import store_alert_sources, store_choice_sources, tracking_listeners

        # One call per channel: its package is everything it is (adapter, connect form and validator,
        # install flow, webhook receiver, periodic tasks), and registering it tells the lower apps.
        channel_package_register(shopify.CHANNEL)
        channel_package_register(woocommerce.CHANNEL)
        channel_package_register(amazon.CHANNEL)
        # The order list's store filter names the merchant's stores (orders cannot import integrations).
        store_choice_sources.register("integrations", integration_choices)
        # The home page's stores with sync problems or lag, the same way.
        store_alert_sources.register("integrations", integration_alerts)
        # The home page's setup checklist: its first step is a fact only integrations knows.
        from accounts.registry import ChecklistStep, checklist_steps
        from integrations.selectors import has_store

        checklist_steps.register("integrations.store", ChecklistStep(
            position=10, title="Connect a store",
            description="Link Shopify, WooCommerce or Amazon so its orders arrive here and stock goes back.",
            url_name="integration-list", is_done=has_store))

        # Stock changes reach the channels within seconds: inventory calls stock_push_schedule after the
        # marks commit (a debounced push per merchant); the beat fan-out is the safety net.
        availability_consumer_register(CONSUMER, "Pushes available quantities to connected channels.",
                                       on_marked=stock_push_schedule)
        # Tracking leaves on commit the same way: orders calls this after a shipment's outbox row commits.
        tracking_listeners.register("integrations", tracking_push_schedule)
        # The product page lists each store's listing with the last quantity pushed and when.
        product_listing_sources.register("integrations", product_listings)
        # The product page's ledger names the store an opening stock came from, with a link.
        from integrations.selectors import store_reference_links
        from inventory.registry import reference_links
        from orders.channels import STORE_KEY_PREFIX

        reference_links.register(STORE_KEY_PREFIX, store_reference_links)
        job_summary_register(IMPORT_KIND, listings_import_summary)
        # Stores needing reconnection and sync lag, read from the database at scrape time (core.metrics).
        gauge_sources.register("integrations", integration_gauges)
