from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Alerts and incidents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from correlation.handoff import install_desk
        from socapp.metrics import register_metric_source
        from socapp.models import SavedView
        from socapp.saved_views import register_saved_view_page

        from . import membership, metrics
        from .desk import CaseDesk
        from .filters import alert_queue_query_problems

        register_metric_source("incidents", metrics.collect)
        install_desk(CaseDesk())  # the engine's alerts arrive through it
        membership.connect()  # cases go back to the queue when their assignee may not work them
        register_saved_view_page(
            SavedView.Page.ALERTS,
            permission="incidents.view_alert",
            check=alert_queue_query_problems,
        )
