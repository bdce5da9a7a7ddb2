from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Alerts and incidents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from correlation.handoff import install_desk
        from socapp.metrics import register_metric_source

        from . import metrics
        from .desk import CaseDesk

        register_metric_source("incidents", metrics.collect)
        install_desk(CaseDesk())  # the engine's alerts arrive through it
