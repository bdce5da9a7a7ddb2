from django.apps import AppConfig


class CorrelationConfig(AppConfig):
    name = "correlation"
    verbose_name = "Detection and correlation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registered at start-up, so tasks sent by name (from lower apps) resolve in every
        # process, and eager test runs execute them in-process.
        from socapp.metrics import register_metric_source

        from . import (
            metrics,
            tasks,  # noqa: F401
        )

        register_metric_source("correlation", metrics.collect)
