from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from core.metrics import gauge_sources
        from core.receivers import webhook_paths
        from webhooks.metrics import webhook_gauges
        from webhooks.services import webhook_endpoint_path

        # Lower apps (integrations subscribing a store) ask core for an owner's inbox address; we answer.
        webhook_paths.register("inbox", webhook_endpoint_path)
        gauge_sources.register("webhooks", webhook_gauges)
