from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from socapp.metrics import register_metric_source

        from . import metrics, tasks  # noqa: F401  (tasks: registered at start-up)

        register_metric_source("events", metrics.collect)
        register_metric_source("ingestion", metrics.collect_ingestion)
