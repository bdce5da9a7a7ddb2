from django.apps import AppConfig


class RoofConfig(AppConfig):
    """No models: installed so that Django finds the roof's management commands
    (``manage.py bootstrap``)."""

    name = "socapp.roof"
    label = "roof"
    verbose_name = "Site assembly"
