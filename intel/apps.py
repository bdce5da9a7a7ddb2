from django.apps import AppConfig


class IntelConfig(AppConfig):
    name = "intel"
    verbose_name = "Threat intelligence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The signals that keep the matching index and retro-hunts up to date.
        from . import lifecycle  # noqa: F401
