from django.apps import AppConfig


class SocappConfig(AppConfig):
    name = "socapp"
    verbose_name = "Accounts, teams and audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import audit_access  # noqa: F401  audits logins, logouts, failed logins
        from .api import schema  # noqa: F401  registers the OpenAPI auth extension
