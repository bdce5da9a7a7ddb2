from django.urls import path

from .imports import IntelImportView
from .views import IOCViewSet, RetroHuntViewSet, ThreatIntelViewSet

routes = [
    ("threat-intel", ThreatIntelViewSet, "threatintel"),
    ("iocs", IOCViewSet, "ioc"),
    ("retro-hunts", RetroHuntViewSet, "retrohunt"),
]

urlpatterns = [
    path("intel/import/", IntelImportView.as_view(), name="intel-import"),
]
