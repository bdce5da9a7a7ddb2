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
]
