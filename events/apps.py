from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from socapp.metrics import register_metric_source
        from socapp.models import SavedView
        from socapp.saved_views import register_saved_view_page

        from . import metrics, tasks  # noqa: F401  (tasks: registered at start-up)
        from .forms import search_query_problems

        register_metric_source("events", metrics.collect)
        register_metric_source("ingestion", metrics.collect_ingestion)
        register_saved_view_page(
            SavedView.Page.EVENTS, permission="events.view_event", check=search_query_problems
        )
