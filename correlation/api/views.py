from socapp.api.viewsets import AuditedModelViewSet, ReadOnlyViewSet

from ..filters import CorrelationFilterSet, CorrelationRuleFilterSet
from ..models import Correlation, CorrelationRule
from .serializers import CorrelationRuleSerializer, CorrelationSerializer


class CorrelationRuleViewSet(AuditedModelViewSet):
    queryset = CorrelationRule.objects.select_related("team")
    serializer_class = CorrelationRuleSerializer
    filterset_class = CorrelationRuleFilterSet
    ordering_fields = ["name", "updated_at", "level"]


class CorrelationViewSet(ReadOnlyViewSet):
    queryset = Correlation.objects.select_related("rule").prefetch_related("event_links")
    serializer_class = CorrelationSerializer
    filterset_class = CorrelationFilterSet
    ordering_fields = ["end_time", "event_count"]
