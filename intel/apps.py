from django.apps import AppConfig


class IntelConfig(AppConfig):
    name = "intel"
    verbose_name = "Threat intelligence"
    default_auto_field = "django.db.models.BigAutoField"
