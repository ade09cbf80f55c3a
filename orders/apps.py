from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from notifications.services import sent_listener_register
        from orders.services.notifications import order_notification_sent

        sent_listener_register("order", order_notification_sent)
