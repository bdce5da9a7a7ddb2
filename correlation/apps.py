from django.apps import AppConfig


class CorrelationConfig(AppConfig):
    name = "correlation"
    verbose_name = "Detection and correlation"
    default_auto_field = "django.db.models.BigAutoField"
