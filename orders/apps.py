from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from core.metrics import gauge_sources
        from inventory.registry import (
            alias_stores_register,
            availability_consumer_register,
            reservation_holder_register,
        )
        from notifications.services import sent_listener_register
        from orders.channels import MANUAL, channel_register, store_exists, store_key, store_of_key
        from orders.metrics import outbox_gauges
        from orders.services.allocation import CONSUMER
        from orders.services.notifications import order_notification_sent
        from orders.services.reservations import LINE_PREFIX, stocktake_lock, stocktake_released

        sent_listener_register("order", order_notification_sent)
        availability_consumer_register(CONSUMER, "Tops up short orders oldest first when stock arrives.")
        reservation_holder_register("orders", prefix=LINE_PREFIX, lock=stocktake_lock, released=stocktake_released)
        channel_register(slug=MANUAL, label="Manual", colour="#1f4fd6")  # orders typed in by the merchant
        alias_stores_register("orders", key=store_key, store_of=store_of_key, exists=store_exists)
        gauge_sources.register("orders", outbox_gauges)
        # The product page's ledger links an order line's movements to the order.
        from inventory.registry import reference_links
        from orders.selectors.references import order_line_reference_links

        reference_links.register(LINE_PREFIX.rstrip(":"), order_line_reference_links)
