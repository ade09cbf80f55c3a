from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # Services enqueue "notifications.notification_deliver" by name; Celery discovers task
        # modules only in a worker, so a web process (and eager mode) must register it here.
        from notifications import tasks  # noqa: F401
