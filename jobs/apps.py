from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        from core.metrics import gauge_sources
        from jobs.metrics import job_gauges

        gauge_sources.register("jobs", job_gauges)
