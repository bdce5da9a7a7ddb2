from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Alerts and incidents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from socapp.metrics import register_metric_source

        from . import metrics

        register_metric_source("incidents", metrics.collect)
