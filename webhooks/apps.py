from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from core.receivers import webhook_paths
        from webhooks.services import webhook_endpoint_path

        # Lower apps (integrations subscribing a store) ask core for an owner's inbox address; we answer.
        webhook_paths.register("inbox", webhook_endpoint_path)
