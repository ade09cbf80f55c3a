from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        import core.converters  # noqa: F401 - registers the `id` path converter used by every urls.py
