from .views import EventTypeViewSet, EventViewSet, SourceViewSet

routes = [
    ("sources", SourceViewSet, "source"),
    ("event-types", EventTypeViewSet, "eventtype"),
    ("events", EventViewSet, "event"),
]
