from .views import AlertViewSet, IncidentViewSet, ResponseActionViewSet, SeverityViewSet

routes = [
    ("severities", SeverityViewSet, "severity"),
    ("alerts", AlertViewSet, "alert"),
    ("incidents", IncidentViewSet, "incident"),
    ("response-actions", ResponseActionViewSet, "responseaction"),
]
