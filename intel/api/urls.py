from .views import IOCViewSet, RetroHuntViewSet, ThreatIntelViewSet

routes = [
    ("threat-intel", ThreatIntelViewSet, "threatintel"),
    ("iocs", IOCViewSet, "ioc"),
    ("retro-hunts", RetroHuntViewSet, "retrohunt"),
]
