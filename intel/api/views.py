from socapp.api.viewsets import AuditedModelViewSet, ReadOnlyViewSet

from ..filters import IOCFilterSet, ThreatIntelFilterSet
from ..models import IOC, RetroHunt, ThreatIntel
from .serializers import IOCSerializer, RetroHuntSerializer, ThreatIntelSerializer


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


class RetroHuntViewSet(ReadOnlyViewSet):
    """Retro-hunts: searches of stored events for indicators that arrived after them,
    with their progress (asked for when indicators are created or re-activated)."""

    queryset = RetroHunt.objects.all()
    serializer_class = RetroHuntSerializer
    ordering_fields = ["created_at"]
