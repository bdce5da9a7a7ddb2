from socapp.api.viewsets import AuditedModelViewSet

from ..filters import AssetFilterSet, AssetTypeFilterSet
from ..models import Asset, AssetType
from .serializers import AssetSerializer, AssetTypeSerializer


class AssetTypeViewSet(AuditedModelViewSet):
    queryset = AssetType.objects.all()
    serializer_class = AssetTypeSerializer
    filterset_class = AssetTypeFilterSet
    ordering_fields = ["name", "created_at"]


class AssetViewSet(AuditedModelViewSet):
    queryset = Asset.objects.select_related("asset_type", "team")
    serializer_class = AssetSerializer
    filterset_class = AssetFilterSet
    ordering_fields = ["name", "updated_at", "is_critical"]
