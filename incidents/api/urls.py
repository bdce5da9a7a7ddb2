from .reports import IncidentReportViewSet, SummaryReportViewSet
from .views import (
    AlertMuteViewSet,
    AlertViewSet,
    IncidentViewSet,
    ResponseActionViewSet,
    SeverityViewSet,
)

routes = [
    ("severities", SeverityViewSet, "severity"),
    ("alerts", AlertViewSet, "alert"),
    ("alert-mutes", AlertMuteViewSet, "alertmute"),
    ("incidents", IncidentViewSet, "incident"),
    ("response-actions", ResponseActionViewSet, "responseaction"),
    ("reports/incident", IncidentReportViewSet, "incident-report"),
    ("reports/summary", SummaryReportViewSet, "summary-report"),
]
