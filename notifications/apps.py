from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from accounts.registry import onboarding_steps
        from notifications.services import notification_settings_create_default

        onboarding_steps.register("notifications.settings", notification_settings_create_default)
        # Services enqueue "notifications.notification_deliver" by name; Celery discovers task
        # modules only in a worker, so a web process (and eager mode) must register it here.
        from notifications import tasks  # noqa: F401
