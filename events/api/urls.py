from django.urls import path

from .ingest import HecEventView, HecHealthView, HecRawView, IngestView
from .views import EventTypeViewSet, EventViewSet, QuarantineViewSet, SourceViewSet

routes = [
    ("sources", SourceViewSet, "source"),
    ("event-types", EventTypeViewSet, "eventtype"),
    ("events", EventViewSet, "event"),
    ("quarantine", QuarantineViewSet, "quarantine"),
]

urlpatterns = [
    path("ingest/", IngestView.as_view(), name="ingest"),
]

# Splunk HEC paths, mounted at the site root by socapp/roof/urls.py (shippers expect them there).
hec_urlpatterns = [
    path("services/collector", HecEventView.as_view(), name="hec-event-bare"),
    path("services/collector/event", HecEventView.as_view(), name="hec-event"),
    path("services/collector/event/1.0", HecEventView.as_view(), name="hec-event-v1"),
    path("services/collector/raw", HecRawView.as_view(), name="hec-raw"),
    path("services/collector/raw/1.0", HecRawView.as_view(), name="hec-raw-v1"),
    path("services/collector/health", HecHealthView.as_view(), name="hec-health"),
    path("services/collector/health/1.0", HecHealthView.as_view(), name="hec-health-v1"),
]
