from .views import IOCViewSet, ThreatIntelViewSet

routes = [
    ("threat-intel", ThreatIntelViewSet, "threatintel"),
    ("iocs", IOCViewSet, "ioc"),
]
