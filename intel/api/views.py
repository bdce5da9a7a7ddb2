from socapp.api.viewsets import AuditedModelViewSet

from ..filters import IOCFilterSet, ThreatIntelFilterSet
from ..models import IOC, ThreatIntel
from .serializers import IOCSerializer, ThreatIntelSerializer


class ThreatIntelViewSet(AuditedModelViewSet):
    queryset = ThreatIntel.objects.all()
    serializer_class = ThreatIntelSerializer
    filterset_class = ThreatIntelFilterSet
    ordering_fields = ["source_name", "created_at", "confidence_score"]


class IOCViewSet(AuditedModelViewSet):
    queryset = IOC.objects.select_related("intel")
    serializer_class = IOCSerializer
    filterset_class = IOCFilterSet
    ordering_fields = ["created_at", "last_seen", "confidence_score"]
