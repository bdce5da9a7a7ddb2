from django.urls import path

from .imports import IntelImportView
from .views import IOCViewSet, ThreatIntelViewSet

routes = [
    ("threat-intel", ThreatIntelViewSet, "threatintel"),
    ("iocs", IOCViewSet, "ioc"),
]

urlpatterns = [
    path("intel/import/", IntelImportView.as_view(), name="intel-import"),
]
