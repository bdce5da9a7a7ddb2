from .views import AssetTypeViewSet, AssetViewSet, DiscoveredHostViewSet
from .vulns import VulnerabilityFindingViewSet

# (prefix, viewset, basename), registered on the one /api/v1/ router by socapp/roof/urls.py.
routes = [
    ("asset-types", AssetTypeViewSet, "assettype"),
    ("assets", AssetViewSet, "asset"),
    ("discovered-hosts", DiscoveredHostViewSet, "discoveredhost"),
    ("vulnerabilities", VulnerabilityFindingViewSet, "vulnerability"),
]
